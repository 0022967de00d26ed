using GroupRobust.Tests.TestSupport;
using GroupRobust.Text.Data;
using GroupRobust.Text.Tokenization;
using TorchSharp;

namespace GroupRobust.Tests.Text.Data;

/// <summary>MultiNLI from GLUE's texts and group_DRO's metadata, on fixtures in those layouts.</summary>
public class MultiNliTextsTests
{
    private const string Header = "index\tpromptID\tpairID\tgenre\tsentence1_binary_parse\tsentence2_binary_parse\tsentence1_parse\tsentence2_parse\tsentence1\tsentence2\tlabel1\tgold_label\n";

    private static string Row(int i, string premise, string hypothesis, string label) => $"{i}\t1\t1e\tfiction\t(x)\t(y)\t(X)\t(Y)\t{premise}\t{hypothesis}\t{label}\t{label}\n";

    private static void Fixture(TempDirectory dir, string trainLabel = "neutral")
    {
        File.WriteAllText(dir.File("train.tsv"), Header + Row(0, "A man plays a guitar.", "Nobody plays.", "contradiction") + Row(1, "Two dogs run.", "Animals move.", "entailment") + Row(2, "A child reads.", "The child reads a book.", trainLabel));
        File.WriteAllText(dir.File("dev_matched.tsv"), Header + Row(0, "It rains.", "It is never dry.", "contradiction") + Row(1, "She sings.", "Someone sings.", "entailment"));
        File.WriteAllText(dir.File("dev_mismatched.tsv"), Header + Row(0, "The bus is late.", "The bus has no driver.", "neutral"));
        File.WriteAllText(dir.File("metadata_random.csv"), ",gold_label,sentence2_has_negation,split\n0,0,1,0\n1,1,0,0\n2,2,0,0\n3,0,1,1\n4,1,0,1\n5,2,1,2\n");
    }

    [Fact]
    public void Premise_and_hypothesis_pairs_are_tokenized_in_the_metadatas_order_with_its_groups()
    {
        using var dir = new TempDirectory();
        Fixture(dir);
        var tokenizer = WordPieceTokenizer.FromVocabulary(PackagedMiniLm.VocabularyPath);
        using var data = MultiNliTexts.Load(dir.File("metadata_random.csv"), dir.Path, tokenizer, maxLength: 24);
        Assert.Equal(3, data.Train.Count);
        Assert.Equal(2, data.Validation.Count);
        Assert.Equal(1, data.Test.Count);
        Assert.Equal(6, data.Scheme.NumGroups);
        Assert.Equal([1, 2, 4], data.Train.Groups.ToArray());   // g = 2 label + negation
        using var batch = data.Train.GetBatch([0]);
        Assert.Equal(new long[] { 1, 24, 3 }, batch.Inputs.shape);
        var (ids, types) = tokenizer.Encode("A man plays a guitar.", "Nobody plays.", 24);
        Assert.Equal(ids.Select(i => (long)i), batch.Inputs.select(-1, 0)[0].data<long>().ToArray().Take(ids.Length));
        Assert.Equal(types.Select(i => (long)i), batch.Inputs.select(-1, 2)[0].data<long>().ToArray().Take(ids.Length));
    }

    [Fact]
    public void Texts_out_of_the_metadatas_order_and_bad_rows_are_named()
    {
        using var dir = new TempDirectory();
        Fixture(dir, trainLabel: "entailment");   // row 2's text says entailment, the metadata neutral
        var tokenizer = WordPieceTokenizer.FromVocabulary(PackagedMiniLm.VocabularyPath);
        var ex = Assert.Throws<FormatException>(() => MultiNliTexts.Load(dir.File("metadata_random.csv"), dir.Path, tokenizer));
        Assert.Contains("line 4", ex.Message);
        Fixture(dir);
        File.AppendAllText(dir.File("dev_mismatched.tsv"), Row(1, "Extra.", "Row.", "neutral"));
        Assert.Contains("metadata", Assert.Throws<FormatException>(() => MultiNliTexts.Load(dir.File("metadata_random.csv"), dir.Path, tokenizer)).Message);
        File.AppendAllText(dir.File("dev_mismatched.tsv"), "2\tshort row\n");
        Assert.Contains("line 4", Assert.Throws<FormatException>(() => MultiNliTexts.ReadGlue(dir.File("dev_mismatched.tsv"))).Message);
        File.WriteAllText(dir.File("dev_matched.tsv"), Header + Row(0, "a", "b", "-"));
        Assert.Contains("\"-\"", Assert.Throws<FormatException>(() => MultiNliTexts.ReadGlue(dir.File("dev_matched.tsv"))).Message);
        File.Delete(dir.File("train.tsv"));
        Assert.Throws<FileNotFoundException>(() => MultiNliTexts.Load(dir.File("metadata_random.csv"), dir.Path, tokenizer));
    }
}
