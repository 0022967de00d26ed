using GroupRobust.Tests.TestSupport;
using GroupRobust.Text.Tokenization;

namespace GroupRobust.Tests.Text.Tokenization;

/// <summary>vocab.txt files saved on Windows, mixed line endings, and files that are not vocabularies at all.</summary>
public class WordPieceTokenizerAdversarialTests
{
    [Fact]
    public void A_vocabulary_with_a_byte_order_mark_and_crlf_line_endings_gives_the_same_ids()
    {
        using var dir = new TempDirectory();
        string path = dir.File("vocab.txt");
        File.WriteAllText(path, "\uFEFF[PAD]\r\n[UNK]\r\n[CLS]\r\n[SEP]\r\nhello\r\nworld\r\n");
        Assert.Equal(0xEF, File.ReadAllBytes(path)[0]);
        var tokenizer = WordPieceTokenizer.FromVocabulary(path);
        Assert.Equal(0, tokenizer.PadId);
        Assert.Equal(6, tokenizer.VocabSize);
        Assert.Equal([4, 5], tokenizer.Tokenize("Hello world"));
        Assert.Equal([1], tokenizer.Tokenize("unknown"));
    }

    [Fact]
    public void Blank_crlf_lines_tokens_repeated_across_line_endings_and_binary_files_are_refused_naming_the_file_and_lines()
    {
        using var dir = new TempDirectory();
        string path = dir.File("vocab.txt");
        FormatException Refused(string content)
        {
            File.WriteAllText(path, content);
            var ex = Assert.Throws<FormatException>(() => WordPieceTokenizer.FromVocabulary(path));
            Assert.Contains(path, ex.Message);
            return ex;
        }
        Assert.Contains("line 3: empty token", Refused("[PAD]\r\n[UNK]\r\n\r\n[CLS]\r\n[SEP]\r\n").Message);
        // "hello" with CRLF and "hello" with LF are one token twice
        var twice = Refused("[PAD]\n[UNK]\n[CLS]\n[SEP]\nhello\r\nhello\n").Message;
        Assert.Contains("line 6", twice);
        Assert.Contains("line 5", twice);
        // the bytes of an image: no special tokens
        File.WriteAllBytes(path, [0x89, (byte)'P', (byte)'N', (byte)'G', 0x0D, 0x0A, 0x1A, 0x0A, 0, 0, 0, 13, (byte)'I', (byte)'H', (byte)'D', (byte)'R']);
        Assert.Contains("[PAD]", Assert.Throws<FormatException>(() => WordPieceTokenizer.FromVocabulary(path)).Message);
        Directory.CreateDirectory(dir.File("folder.txt"));
        Assert.Throws<FileNotFoundException>(() => WordPieceTokenizer.FromVocabulary(dir.File("folder.txt")));
    }
}
