using GroupRobust.Tests.TestSupport;
using GroupRobust.Text.Data;

namespace GroupRobust.Tests.Text.Data;

/// <summary>CivilComments in WILDS's layout, on a fixture made here (the real file is 450,000 comments).</summary>
public class CivilCommentsTests
{
    private const string Header = "id,comment_text,split,toxicity,severe_toxicity,male,female,LGBTQ,christian,muslim,other_religions,black,white,identity_any\n";

    private static string Fixture(TempDirectory dir, string rows)
    {
        string path = dir.File("all_data_with_identities.csv");
        File.WriteAllText(path, Header + rows);
        return path;
    }

    [Fact]
    public void Toxicity_and_identity_columns_become_labels_and_groups_coarse_and_fine()
    {
        using var dir = new TempDirectory();
        string path = Fixture(dir,
            "1,\"You are great, really.\",train,0.1,0,0.0,0.0,0.0,0.0,0.0,0.0,0.0,0.0,0\n" +
            "2,\"As a christian woman,\nI disagree.\",train,0.6,0.1,0.0,0.8,0.0,0.9,0.0,0.0,0.0,0.0,1\n" +
            "3,Idiots everywhere,train,0.9,0.5,,,,,,,,,0\n" +
            "4,\"The \"\"muslim\"\" ban\",val,0.2,0,0,0,0,0,0.7,0,0,0,1\n" +
            "5,Black lives,test,0.5,0,0,0,0,0,0,0,0.5,0.4,1\n");
        var coarse = CivilComments.Load(path);
        Assert.Equal(["non-toxic", "toxic"], coarse.Scheme.ClassNames);
        Assert.Equal([new LabeledText("You are great, really.", 0, 0), new LabeledText("As a christian woman,\nI disagree.", 1, 1), new LabeledText("Idiots everywhere", 1, 0)], coarse.Train);
        Assert.Equal([new LabeledText("The \"muslim\" ban", 0, 1)], coarse.Validation);
        Assert.Equal([new LabeledText("Black lives", 1, 1)], coarse.Test);   // 0.5 counts, 0.4 does not

        var fine = CivilComments.Load(path, CivilCommentsGranularity.Fine);
        Assert.Equal(8, fine.Scheme.NumAttributes);
        // the comment that mentions female (1) and christian (3) appears once for each; those that mention none are left out
        Assert.Equal([new LabeledText("As a christian woman,\nI disagree.", 1, 1), new LabeledText("As a christian woman,\nI disagree.", 1, 3)], fine.Train);
        Assert.Equal(4, fine.Validation.Single().Attribute);
        Assert.Equal(6, fine.Test.Single().Attribute);
    }

    [Fact]
    public void Bad_rows_name_the_file_and_the_line()
    {
        using var dir = new TempDirectory();
        string path = Fixture(dir, "1,a,train,0.1,0,0,0,0,0,0,0,0,0,0\n2,b,holdout,0.1,0,0,0,0,0,0,0,0,0,0\n");
        var ex = Assert.Throws<FormatException>(() => CivilComments.Load(path));
        Assert.Contains("line 3", ex.Message);
        Assert.Contains("\"holdout\"", ex.Message);
        path = Fixture(dir, "1,a,train,high,0,0,0,0,0,0,0,0,0,0\n");
        Assert.Contains("toxicity is \"high\"", Assert.Throws<FormatException>(() => CivilComments.Load(path)).Message);
        path = Fixture(dir, "1,a,train,0.1,0,0,0,0,0,0,0,0,0,0\n2,b,val,0.1,0,0,0,0,0,0,0,0,0,0\n");
        Assert.Contains("test split has no rows", Assert.Throws<FormatException>(() => CivilComments.Load(path)).Message);
        File.WriteAllText(path, "id,comment_text,split,toxicity\n1,a,train,0.1\n");
        Assert.Contains("male", Assert.Throws<FormatException>(() => CivilComments.Load(path)).Message);
        Assert.Throws<FileNotFoundException>(() => CivilComments.Load(dir.File("absent.csv")));
    }
}
