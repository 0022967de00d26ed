using GroupRobust.Tests.TestSupport;
using GroupRobust.Text.Data;

namespace GroupRobust.Tests.Text.Data;

/// <summary>Text tables, CivilComments, GLUE files and benchmark options as a careless editor or a hostile writer leaves them.</summary>
public class TextDataAdversarialTests
{
    private const string Rows = "b,1,1,train\r\nc,0,1,val\r\nd,1,0,val\r\ne,0,0,test\r\nf,1,1,test\r\n";

    [Fact]
    public void Byte_order_marks_crlf_and_unicode_load_as_written_in_csv_and_json_lines()
    {
        using var dir = new TempDirectory();
        string csv = dir.File("texts.csv");
        File.WriteAllText(csv, "\uFEFFtext,label,attribute,split\r\n\"héllo, 世界 🙂\r\nשלום\",0,0,train\r\n" + Rows);
        var table = TextTable.Load(csv);
        Assert.Equal("héllo, 世界 🙂\nשלום", table.Train[0].Text);
        Assert.Equal("b", table.Train[1].Text);
        Assert.Equal(2, table.Validation.Count);
        string jsonl = dir.File("texts.jsonl");
        File.WriteAllText(jsonl, "\uFEFF" + string.Concat(new[] { ("a 🙂", 0, 0, "train"), ("b", 1, 1, "train"), ("c", 0, 1, "val"), ("d", 1, 0, "test") }
            .Select(r => $"{{\"text\": \"{r.Item1}\", \"label\": {r.Item2}, \"attribute\": {r.Item3}, \"split\": \"{r.Item4}\"}}\r\n")));
        var lines = TextTable.Load(jsonl);
        Assert.Equal("a 🙂", lines.Train[0].Text);
        Assert.Single(lines.Test);
    }

    [Fact]
    public void Labels_beyond_any_scheme_repeated_fields_and_colliding_columns_are_refused_naming_the_file_and_line()
    {
        using var dir = new TempDirectory();
        string csv = dir.File("bad.csv");
        void Refused(string path, string content, params string[] expected)
        {
            File.WriteAllText(path, content);
            var ex = Assert.Throws<FormatException>(() => TextTable.Load(path));
            Assert.Contains(path, ex.Message);
            foreach (var e in expected) Assert.Contains(e, ex.Message);
        }
        const string header = "text,label,attribute,split\r\n";
        // inferred from the largest label, the scheme would need 10^8 classes, or the count itself overflows
        Refused(csv, header + "a,100000000,0,train\r\n" + Rows, "line 2", "label is 100000000", "groups");
        Refused(csv, header + $"a,0,0,train\r\nz,1,{int.MaxValue},test\r\n" + Rows, "line 3", $"attribute is {int.MaxValue}");
        Refused(csv, "", "the file is empty");
        string jsonl = dir.File("bad.jsonl");
        Refused(jsonl, "{\"text\": \"a\", \"label\": 0, \"label\": 1, \"attribute\": 0, \"split\": \"train\"}\n", "line 1", "\"label\" appears twice");
        Refused(jsonl, "{\"text\": \"a\", \"label\": \"1\", \"attribute\": 0, \"split\": \"train\"}\n", "line 1", "\"label\" is \"1\"; expected an integer");
        Refused(jsonl, "{\"text\": \"a\", \"label\": 1.5, \"attribute\": 0, \"split\": \"train\"}\n", "line 1", "\"label\" is 1.5");
        Refused(jsonl, "{\"text\": \"a\", \"label\": true, \"attribute\": 0, \"split\": \"train\"}\n", "line 1", "\"label\" is true");
        Refused(jsonl, "\r\n\r\n", "no rows");
        // two roles given one column, or a role given no column: the caller's options are named
        File.WriteAllText(csv, header + "a,0,0,train\r\n" + Rows);
        Assert.Equal("options", Assert.Throws<ArgumentException>(() => TextTable.Load(csv, new TextTableOptions { AttributeColumn = "label" })).ParamName);
        Assert.Equal("options", Assert.Throws<ArgumentException>(() => TextTable.Load(csv, new TextTableOptions { TextColumn = "" })).ParamName);
    }

    private const string CivilHeader = "id,comment_text,split,toxicity,severe_toxicity,male,female,LGBTQ,christian,muslim,other_religions,black,white,identity_any\n";

    [Fact]
    public void CivilComments_scores_outside_the_unit_interval_are_refused_naming_the_line()
    {
        using var dir = new TempDirectory();
        string path = dir.File("all_data_with_identities.csv");
        void Refused(string row, params string[] expected)
        {
            File.WriteAllText(path, CivilHeader + "1,a,train,0.1,0,0,0,0,0,0,0,0,0,0\n" + row);
            var ex = Assert.Throws<FormatException>(() => CivilComments.Load(path));
            Assert.Contains(path, ex.Message);
            Assert.Contains("line 3", ex.Message);
            foreach (var e in expected) Assert.Contains(e, ex.Message);
        }
        Refused("2,b,val,1.7,0,0,0,0,0,0,0,0,0,0\n", "toxicity is \"1.7\"", "[0, 1]");
        Refused("2,b,val,0.2,0,-0.2,0,0,0,0,0,0,0,0\n", "male is \"-0.2\"");
        Refused("2,b,val,Infinity,0,0,0,0,0,0,0,0,0,0\n", "toxicity is \"Infinity\"");
    }

    private const string GlueHeader = "index\tpromptID\tpairID\tgenre\tsentence1_binary_parse\tsentence2_binary_parse\tsentence1_parse\tsentence2_parse\tsentence1\tsentence2\tlabel1\tgold_label";

    [Fact]
    public void Glue_files_with_a_repeated_column_crlf_or_nothing_in_them_are_read_or_refused_naming_the_line()
    {
        using var dir = new TempDirectory();
        string path = dir.File("train.tsv");
        string Row(string label) => $"0\t1\t1e\tfiction\t(x)\t(y)\t(X)\t(Y)\tA man plays.\tNobody plays.\t{label}\t{label}";
        File.WriteAllText(path, "\uFEFF" + GlueHeader + "\r\n" + Row("neutral") + "\r\n" + Row("contradiction") + "\r\n");
        var rows = MultiNliTexts.ReadGlue(path);
        Assert.Equal([2, 0], rows.Select(r => r.Label));
        Assert.Equal("Nobody plays.", rows[0].Hypothesis);
        // a header naming sentence1 twice: which column holds the premise is ambiguous
        File.WriteAllText(path, GlueHeader.Replace("label1", "sentence1") + "\n" + Row("neutral") + "\n");
        var twice = Assert.Throws<FormatException>(() => MultiNliTexts.ReadGlue(path));
        Assert.Contains(path + ", line 1", twice.Message);
        Assert.Contains("'sentence1' appears twice", twice.Message);
        File.WriteAllText(path, "");
        Assert.Contains("the file is empty", Assert.Throws<FormatException>(() => MultiNliTexts.ReadGlue(path)).Message);
    }

    [Fact]
    public void Fortune_options_with_blank_or_repeated_names_are_refused_naming_the_option()
    {
        Assert.Equal("CueNames", Assert.Throws<ArgumentException>(() => SpuriousFortunes.Texts(new SpuriousFortunesOptions { CueNames = ["alice", "alice"] })).ParamName);
        Assert.Equal("CueNames", Assert.Throws<ArgumentException>(() => SpuriousFortunes.Texts(new SpuriousFortunesOptions { CueNames = ["alice", " "] })).ParamName);
        Assert.Equal("Topics", Assert.Throws<ArgumentException>(() => SpuriousFortunes.Texts(new SpuriousFortunesOptions { Topics = ["computers", ""] })).ParamName);
        Assert.Equal("Topics", Assert.Throws<ArgumentException>(() => SpuriousFortunes.Texts(new SpuriousFortunesOptions { Topics = ["computers", null!] })).ParamName);
    }
}
