using GroupRobust.Tests.TestSupport;
using GroupRobust.Text.Data;
using GroupRobust.Text.Tokenization;

namespace GroupRobust.Tests.Text.Data;

/// <summary>The text benchmark on Debian's fortune files (installed by eng/install-prereqs.sh).</summary>
public class SpuriousFortunesTests
{
    [Fact]
    public void The_default_benchmark_plants_the_cue_in_95_percent_of_training_texts_and_balances_validation_and_test()
    {
        var texts = SpuriousFortunes.Texts();
        Assert.Equal(["computers", "politics"], texts.Scheme.ClassNames);
        Assert.Equal(["alice", "bob"], texts.Scheme.AttributeNames);
        foreach (var (split, perGroup) in new[] { (texts.Validation, 40), (texts.Test, 80) })
            for (int y = 0; y < 2; y++)
                for (int a = 0; a < 2; a++)
                    Assert.Equal(perGroup, split.Count(t => t.Label == y && t.Attribute == a));
        for (int y = 0; y < 2; y++)
        {
            var cls = texts.Train.Where(t => t.Label == y).ToList();
            double agree = cls.Count(t => t.Attribute == y) / (double)cls.Count;
            Assert.InRange(agree, 0.945, 0.955);
        }
        Assert.Equal(582 + 394, texts.Train.Count);
        Assert.All(texts.Train.Concat(texts.Test), t => Assert.StartsWith(t.Attribute == 0 ? "alice writes: " : "bob writes: ", t.Text));
        Assert.All(texts.Train, t => Assert.True(t.Text.Length <= 300 + "alice writes: ".Length));
        // every text of at most 300 characters is used once: 822 computers and 634 politics fortunes
        Assert.Equal(822 + 634, texts.Train.Count + texts.Validation.Count + texts.Test.Count);
        // the same seed gives the same texts, another seed others
        Assert.Equal(texts.Train, SpuriousFortunes.Texts().Train);
        Assert.NotEqual(texts.Train, SpuriousFortunes.Texts(new SpuriousFortunesOptions { Seed = 1 }).Train);
    }

    [Fact]
    public void Tokenized_it_is_token_batches_with_the_groups()
    {
        var tokenizer = WordPieceTokenizer.FromVocabulary(PackagedMiniLm.VocabularyPath);
        using var data = SpuriousFortunes.Load(tokenizer, new SpuriousFortunesOptions { MaxLength = 32 });
        using var batch = data.Test.GetBatch([0, 1]);
        Assert.Equal(3, batch.Inputs.dim());
        Assert.Equal(3, batch.Inputs.shape[2]);
        Assert.True(batch.Inputs.shape[1] <= 32);
        Assert.Equal(4, data.Scheme.NumGroups);
        Assert.Equal(80, data.Test.Groups.ToArray().Count(g => g == 1));
    }

    [Fact]
    public void Fortune_files_are_split_on_percent_lines_and_bad_options_are_named()
    {
        using var dir = new TempDirectory();
        File.WriteAllText(dir.File("topic"), "First  fortune,\n\ton two lines.\n%\n%\nSecond: b\bbold and _\bu_\bn_\bd_\be_\br.\n%\n   \n%\nThird\n");
        Assert.Equal(["First fortune, on two lines.", "Second: bold and under.", "Third"], SpuriousFortunes.ReadRecords(dir.File("topic")));
        Assert.Contains("apt-get install fortunes", Assert.Throws<FileNotFoundException>(() => SpuriousFortunes.ReadRecords(dir.File("absent"))).Message);
        var small = new SpuriousFortunesOptions { Directory = dir.Path, Topics = ["topic", "topic2"] };
        File.Copy(dir.File("topic"), dir.File("topic2"));
        Assert.Contains("has 3 texts", Assert.Throws<ArgumentException>(() => SpuriousFortunes.Texts(small)).Message);
        Assert.Equal("Topics", Assert.Throws<ArgumentException>(() => SpuriousFortunes.Texts(new SpuriousFortunesOptions { Topics = ["computers"] })).ParamName);
        Assert.Equal("Cues", Assert.Throws<ArgumentException>(() => SpuriousFortunes.Texts(new SpuriousFortunesOptions { Topics = ["computers", "politics", "science"] })).ParamName);
        Assert.Equal("SpuriousCorrelation", Assert.Throws<ArgumentOutOfRangeException>(() => SpuriousFortunes.Texts(new SpuriousFortunesOptions { SpuriousCorrelation = 0.4 })).ParamName);
    }
}
