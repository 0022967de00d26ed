using GroupRobust.Tests.TestSupport;
using GroupRobust.Text.Tokenization;
using TorchSharp;

namespace GroupRobust.Tests.Text.Tokenization;

public class WordPieceTokenizerTests
{
    private static readonly string[] Hard =
    [
        "", "x", "   ", "Naïve café résumé — déjà vu?", "  spaces   and\ttabs\nnewlines ", "emoji 😀 and symbols ©®™",
        "東京は日本の首都です", "unaffable antidisestablishmentarianism", "I can't believe it's not butter!!!",
        new string('a', 150) + " word",   // longer than WordPiece's 100 characters: [UNK]
        new string('b', 100) + " " + new string('c', 101) + "!" + new string('d', 3) + " 東" + new string('e', 120) + "東",   // at, past and around the limit
        "ALL CAPS and MiXeD cAsE", "e-mail: someone@example.com, http://example.org/path?q=1",
    ];

    [Fact]
    public void Ids_equal_hugging_faces_tokenizers_on_real_sentences_and_hard_cases()
    {
        using var dir = new TempDirectory();
        using var reference = new HuggingFaceTokenizer(PackagedMiniLm.VocabularyPath, dir.Path);
        var tokenizer = WordPieceTokenizer.FromVocabulary(PackagedMiniLm.VocabularyPath);
        Assert.Equal(30522, tokenizer.VocabSize);
        foreach (var text in RealSentences.All.Concat(Hard))
        {
            var (ids, types) = tokenizer.Encode(text, maxLength: 512);
            Assert.True(reference.Encode(text).SequenceEqual(ids), $"'{text}': ours [{string.Join(",", ids)}], Hugging Face [{string.Join(",", reference.Encode(text))}]");
            Assert.All(types, t => Assert.Equal(0, t));
        }
    }

    [Fact]
    public void Pairs_are_cls_a_sep_b_sep_with_token_types_and_truncated_longest_first()
    {
        var tokenizer = WordPieceTokenizer.FromVocabulary(PackagedMiniLm.VocabularyPath);
        string premise = RealSentences.All[2], hypothesis = RealSentences.All[1];
        var a = tokenizer.Tokenize(premise);
        var b = tokenizer.Tokenize(hypothesis);
        var (ids, types) = tokenizer.Encode(premise, hypothesis, maxLength: 512);
        Assert.Equal([tokenizer.ClsId, .. a, tokenizer.SepId, .. b, tokenizer.SepId], ids);
        Assert.Equal(Enumerable.Repeat(0, a.Length + 2).Concat(Enumerable.Repeat(1, b.Length + 1)), types);

        // longest first: the long premise loses tokens until it is no longer than the hypothesis, then they alternate
        // (from the second when equal), as transformers' "longest_first" and group_DRO's _truncate_seq_pair
        Assert.True(a.Length > b.Length + 4);
        int max = b.Length * 2 + 3 + 1;   // room for b.Length + 1 of the premise and all of the hypothesis
        (ids, types) = tokenizer.Encode(premise, hypothesis, max);
        Assert.Equal(max, ids.Length);
        Assert.Equal([tokenizer.ClsId, .. a.Take(b.Length + 1), tokenizer.SepId, .. b, tokenizer.SepId], ids);
        (ids, _) = tokenizer.Encode(premise, hypothesis, b.Length * 2 + 3 - 1);   // both shortened: b.Length - 1 each... one fewer from the second
        int na = (b.Length * 2 - 1 + 1) / 2, nb = b.Length * 2 - 1 - na;
        Assert.Equal([tokenizer.ClsId, .. a.Take(na), tokenizer.SepId, .. b.Take(nb), tokenizer.SepId], ids);
        // a single text keeps its first tokens
        (ids, _) = tokenizer.Encode(premise, maxLength: 5);
        Assert.Equal([tokenizer.ClsId, .. a.Take(3), tokenizer.SepId], ids);
    }

    [Fact]
    public void A_batch_is_ids_mask_and_types_padded_to_the_longest_row_or_to_the_maximum()
    {
        var tokenizer = WordPieceTokenizer.FromVocabulary(PackagedMiniLm.VocabularyPath);
        string[] texts = ["Call me Ishmael.", "Rain.", RealSentences.All[0]];
        string[] pairs = ["A man speaks.", "It is dry.", "Times were mixed."];
        using var batch = tokenizer.Encode(texts, pairs, maxLength: 64);
        var rows = texts.Select((t, i) => tokenizer.Encode(t, pairs[i], 64)).ToArray();
        int longest = rows.Max(r => r.Ids.Length);
        Assert.Equal(new long[] { 3, longest, 3 }, batch.shape);
        Assert.Equal(torch.ScalarType.Int64, batch.dtype);
        var data = batch.data<long>().ToArray();
        for (int i = 0; i < 3; i++)
            for (int j = 0; j < longest; j++)
            {
                long at = (i * longest + j) * 3;
                bool token = j < rows[i].Ids.Length;
                Assert.Equal(token ? rows[i].Ids[j] : tokenizer.PadId, data[at]);
                Assert.Equal(token ? 1 : 0, data[at + 1]);
                Assert.Equal(token ? rows[i].TokenTypes[j] : 0, data[at + 2]);
            }
        using var padded = tokenizer.Encode(texts, maxLength: 40, padToMaxLength: true);
        Assert.Equal(new long[] { 3, 40, 3 }, padded.shape);
    }

    [Fact]
    public void Bad_vocabularies_and_arguments_are_refused_with_the_file_line_and_value()
    {
        using var dir = new TempDirectory();
        string path = dir.File("vocab.txt");
        File.WriteAllText(path, "[PAD]\n[UNK]\n[CLS]\nhello\n");
        var ex = Assert.Throws<FormatException>(() => WordPieceTokenizer.FromVocabulary(path));
        Assert.Contains("[SEP]", ex.Message);
        Assert.Contains(path, ex.Message);
        File.WriteAllText(path, "[PAD]\n[UNK]\n[CLS]\n[SEP]\nhello\nhello\n");
        ex = Assert.Throws<FormatException>(() => WordPieceTokenizer.FromVocabulary(path));
        Assert.Contains("line 6", ex.Message);
        Assert.Contains("line 5", ex.Message);
        File.WriteAllText(path, "[PAD]\n\n[UNK]\n[CLS]\n[SEP]\n");
        Assert.Contains("line 2", Assert.Throws<FormatException>(() => WordPieceTokenizer.FromVocabulary(path)).Message);
        Assert.Throws<FileNotFoundException>(() => WordPieceTokenizer.FromVocabulary(dir.File("absent.txt")));

        var tokenizer = WordPieceTokenizer.FromVocabulary(PackagedMiniLm.VocabularyPath);
        Assert.Equal("maxLength", Assert.Throws<ArgumentOutOfRangeException>(() => tokenizer.Encode("text", maxLength: 2)).ParamName);
        Assert.Equal("maxLength", Assert.Throws<ArgumentOutOfRangeException>(() => tokenizer.Encode("text", "pair", maxLength: 4)).ParamName);
        Assert.Equal("pairs", Assert.Throws<ArgumentException>(() => tokenizer.Encode(["a", "b"], ["only one"])).ParamName);
        Assert.Equal("texts", Assert.Throws<ArgumentException>(() => tokenizer.Encode(Array.Empty<string>())).ParamName);
        Assert.Equal("texts", Assert.Throws<ArgumentException>(() => tokenizer.Encode(["a", null!])).ParamName);
    }
}
