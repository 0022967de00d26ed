using System.Globalization;
using System.Text;

namespace GroupRobust.Data.Loaders;

/// <summary>
/// A small RFC 4180 CSV reader for dataset metadata (quoted fields, doubled quotes, CRLF) that remembers the line of
/// every row, so that loaders can name the file, the line and the problem in their errors. Also reads
/// whitespace-separated tables (CelebA's original .txt files).
/// </summary>
internal sealed class CsvTable
{
    private readonly Dictionary<string, int> _columns;

    private CsvTable(string source, IReadOnlyList<string> header, List<(int Line, string[] Fields)> rows)
    {
        Source = source;
        Header = header;
        Rows = rows;
        _columns = new Dictionary<string, int>(StringComparer.Ordinal);
        for (int i = 0; i < header.Count; i++)
            if (!_columns.TryAdd(header[i], i))
                throw new FormatException($"{source}: the header names column '{header[i]}' twice (columns {_columns[header[i]] + 1} and {i + 1}).");
    }

    /// <summary>The file the table came from.</summary>
    public string Source { get; }

    /// <summary>Column names.</summary>
    public IReadOnlyList<string> Header { get; }

    /// <summary>Data rows with their 1-based line numbers in the file.</summary>
    public IReadOnlyList<(int Line, string[] Fields)> Rows { get; }

    /// <summary>Reads a comma-separated file whose first line is the header.</summary>
    /// <exception cref="FileNotFoundException">The file is missing.</exception>
    /// <exception cref="FormatException">A row has the wrong number of fields or an unterminated quote (file and line named).</exception>
    public static CsvTable ReadCsv(string path)
    {
        if (!File.Exists(path)) throw new FileNotFoundException($"Metadata file not found: {path}", path);
        using var reader = new StreamReader(path, Encoding.UTF8);
        var records = new List<(int Line, string[] Fields)>();
        int line = 0;
        while (true)
        {
            var (fields, startLine) = ReadRecord(reader, ref line, path);
            if (fields is null) break;
            if (fields.Length == 1 && fields[0].Length == 0) continue; // blank line
            records.Add((startLine, fields));
        }
        if (records.Count == 0) throw new FormatException($"{path}: the file is empty; a header line is expected.");
        var header = records[0].Fields;
        var rows = records.Skip(1).ToList();
        foreach (var (ln, f) in rows)
            if (f.Length != header.Length)
                throw new FormatException($"{path}, line {ln}: {f.Length} fields, but the header has {header.Length} ({string.Join(",", header)}).");
        return new CsvTable(path, header, rows);
    }

    /// <summary>Reads a whitespace-separated table with the given header (no header line in the file is consumed unless <paramref name="skipLines"/> says so).</summary>
    /// <param name="path">The file.</param>
    /// <param name="header">Column names for the rows.</param>
    /// <param name="skipLines">Leading lines to skip.</param>
    public static CsvTable ReadWhitespace(string path, IReadOnlyList<string> header, int skipLines = 0)
    {
        if (!File.Exists(path)) throw new FileNotFoundException($"Metadata file not found: {path}", path);
        var rows = new List<(int, string[])>();
        int line = 0;
        foreach (var text in File.ReadLines(path))
        {
            line++;
            if (line <= skipLines || string.IsNullOrWhiteSpace(text)) continue;
            var f = text.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries);
            if (f.Length != header.Count)
                throw new FormatException($"{path}, line {line}: {f.Length} fields, expected {header.Count}.");
            rows.Add((line, f));
        }
        return new CsvTable(path, header, rows);
    }

    /// <summary>The index of column <paramref name="name"/>.</summary>
    /// <exception cref="FormatException">The column is missing (the message lists the columns present).</exception>
    public int Column(string name)
        => _columns.TryGetValue(name, out int i) ? i
            : throw new FormatException($"{Source}: missing column '{name}'; the header has: {string.Join(", ", Header)}.");

    /// <summary>True when the table has column <paramref name="name"/>.</summary>
    public bool HasColumn(string name) => _columns.ContainsKey(name);

    /// <summary>Parses an integer field, naming file, line and column when it is not one.</summary>
    public int Int(int row, int column)
    {
        var (line, fields) = Rows[row];
        var text = fields[column].Trim();
        if (int.TryParse(text, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out int v)) return v;
        if (double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out double d) && d == Math.Floor(d) && Math.Abs(d) < int.MaxValue)
            return (int)d;
        throw new FormatException($"{Source}, line {line}: column '{Header[column]}' is '{text}', not an integer.");
    }

    /// <summary>A text field.</summary>
    public string Text(int row, int column) => Rows[row].Fields[column];

    /// <summary>The line of data row <paramref name="row"/>.</summary>
    public int LineOf(int row) => Rows[row].Line;

    /// <summary>A <see cref="FormatException"/> naming the file and the line of <paramref name="row"/>.</summary>
    public FormatException Error(int row, string problem) => new($"{Source}, line {Rows[row].Line}: {problem}");

    private static (string[]? Fields, int StartLine) ReadRecord(StreamReader reader, ref int line, string path)
    {
        var first = reader.ReadLine();
        if (first is null) return (null, line);
        line++;
        int start = line;
        var fields = new List<string>();
        var field = new StringBuilder();
        var text = first;
        int i = 0;
        bool quoted = false;
        while (true)
        {
            if (i >= text.Length)
            {
                if (!quoted) break;
                var next = reader.ReadLine() ?? throw new FormatException($"{path}, line {start}: unterminated quoted field.");
                line++;
                field.Append('\n');
                text = next;
                i = 0;
                continue;
            }
            char c = text[i++];
            if (quoted)
            {
                if (c == '"')
                {
                    if (i < text.Length && text[i] == '"') { field.Append('"'); i++; }
                    else quoted = false;
                }
                else field.Append(c);
            }
            else if (c == '"' && field.Length == 0) quoted = true;
            else if (c == ',') { fields.Add(field.ToString()); field.Clear(); }
            else field.Append(c);
        }
        fields.Add(field.ToString().TrimEnd('\r'));
        return (fields.ToArray(), start);
    }
}
