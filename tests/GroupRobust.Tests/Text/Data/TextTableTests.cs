using GroupRobust.Tests.TestSupport;
using GroupRobust.Text.Data;
using GroupRobust.Text.Tokenization;

namespace GroupRobust.Tests.Text.Data;

public class TextTableTests
{
    [Fact]
    public void Csv_with_quoted_commas_quotes_and_line_breaks_and_json_lines_with_pairs_load()
    {
        using var dir = new TempDirectory();
        File.WriteAllText(dir.File("texts.csv"),
            "id,text,label,attribute,split\n" +
            "1,\"Hello, world\",0,1,train\n" +
            "2,\"She said \"\"no\"\"\nand left.\",1,0,train\n" +
            "3,Plain text,1,1,val\n" +
            "4,Another one,0,0,test\n");
        var csv = TextTable.Load(dir.File("texts.csv"), new TextTableOptions { ClassNames = ["neg", "pos"] });
        Assert.Equal([new LabeledText("Hello, world", 0, 1), new LabeledText("She said \"no\"\nand left.", 1, 0)], csv.Train);
        Assert.Equal(["neg", "pos"], csv.Scheme.ClassNames);
        Assert.Equal(2, csv.Scheme.NumAttributes);
        Assert.Single(csv.Validation);

        File.WriteAllText(dir.File("nli.jsonl"),
            """
            {"text": "A man plays a guitar.", "text_pair": "Nobody plays.", "label": 0, "attribute": 1, "split": "train"}
            {"text": "Two dogs run.", "text_pair": "Animals move.", "label": 1, "attribute": 0, "split": 0}

            {"text": "A child reads.", "text_pair": "A kid is reading.", "label": 1, "attribute": 0, "split": "dev"}
            {"text": "It rains.", "text_pair": "It is not dry.", "label": 2, "attribute": 1, "split": 2}
            """);
        var nli = TextTable.Load(dir.File("nli.jsonl"));
        Assert.Equal(3, nli.Scheme.NumClasses);
        Assert.Equal("Nobody plays.", nli.Train[0].Pair);
        var tokenizer = WordPieceTokenizer.FromVocabulary(PackagedMiniLm.VocabularyPath);
        using var data = nli.Tokenize(tokenizer, maxLength: 16);
        using var batch = data.Train.GetBatch([0]);
        var (ids, types) = tokenizer.Encode("A man plays a guitar.", "Nobody plays.", 16);
        Assert.Equal(ids.Select(i => (long)i), batch.Inputs.select(-1, 0)[0].data<long>().ToArray().Take(ids.Length));
        Assert.Equal(types.Select(i => (long)i), batch.Inputs.select(-1, 2)[0].data<long>().ToArray().Take(ids.Length));
        Assert.Contains(1, types);
    }

    [Fact]
    public void Bad_rows_name_the_file_the_line_and_the_value()
    {
        using var dir = new TempDirectory();
        string csv = dir.File("bad.csv");
        void Refused(string content, string expected, TextTableOptions? options = null)
        {
            File.WriteAllText(csv, content);
            var ex = Assert.Throws<FormatException>(() => TextTable.Load(csv, options));
            Assert.Contains(csv, ex.Message);
            Assert.Contains(expected, ex.Message);
        }
        const string header = "text,label,attribute,split\n";
        Refused(header + "a,0,0,train\nb,x,0,train\n", "line 3");
        Refused(header + "a,0,0,train\nb,1,0,holdout\n", "\"holdout\"");
        Refused(header + "a,0,0,train\nb,1,0,train\nc,1,0,test\n", "validation split has no rows");
        Refused(header + "a,0,0,train\nb,2,0,val\nc,1,0,test\n", "label is 2", new TextTableOptions { ClassNames = ["a", "b"] });
        Refused(header + "a,0,-1,train\nb,1,0,val\nc,1,0,test\n", "attribute is -1");
        Refused("words,label,attribute,split\na,0,0,train\n", "text");
        string jsonl = dir.File("bad.jsonl");
        File.WriteAllText(jsonl, "{\"text\": \"a\", \"label\": 0, \"attribute\": 0, \"split\": \"train\"}\n{\"text\": 5, \"label\": 0, \"attribute\": 0, \"split\": \"train\"}\n");
        var ex = Assert.Throws<FormatException>(() => TextTable.Load(jsonl));
        Assert.Contains("line 2", ex.Message);
        Assert.Contains("\"text\" is 5", ex.Message);
        File.WriteAllText(jsonl, "{\"text\": \"a\", \"label\": 0, \"attribute\": 0, \"split\": \"train\"}\n[1, 2]\n");
        Assert.Contains("not a JSON object", Assert.Throws<FormatException>(() => TextTable.Load(jsonl)).Message);
        Assert.Throws<FileNotFoundException>(() => TextTable.Load(dir.File("absent.csv")));
    }
}
