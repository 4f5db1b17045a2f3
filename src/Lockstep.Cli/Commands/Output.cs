using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;
using Spectre.Console;

namespace Lockstep.Cli.Commands;

/// <summary>How a list is printed: a table for people, aligned plain text or TSV for scripts.</summary>
internal enum OutputFormat
{
    Table,
    Plain,
    Tsv,
}

/// <summary>
/// Printing for the listing verbs. A table sizes to the terminal (or <c>COLUMNS</c>); when stdout is not a terminal the
/// default is plain aligned text, one line per row, never cut. JSON keeps its characters as they are (no <c>\u0027</c>)
/// and shows nested JSON documents as objects.
/// </summary>
internal static class Output
{
    /// <summary>A long text in a table cell without <c>--wide</c> is cut to this many characters.</summary>
    public const int NarrowCell = 60;

    private static readonly JsonWriterOptions JsonOptions = new() { Indented = true, Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    /// <summary>The format asked for, or table on a terminal and plain otherwise.</summary>
    public static OutputFormat Resolve(string? asked) => asked switch
    {
        "table" => OutputFormat.Table,
        "plain" => OutputFormat.Plain,
        "tsv" => OutputFormat.Tsv,
        _ => Console.IsOutputRedirected ? OutputFormat.Plain : OutputFormat.Table,
    };

    /// <summary>The console for tables: as wide as <c>COLUMNS</c> when set, else the terminal.</summary>
    public static IAnsiConsole TableConsole()
    {
        var console = AnsiConsole.Console;
        if (Environment.GetEnvironmentVariable("COLUMNS") is { } columns && int.TryParse(columns, out var width) && width is > 10 and < 10_000)
            console.Profile.Width = width;
        return console;
    }

    /// <summary>Writes <paramref name="element"/> as indented JSON; string properties named in <paramref name="nested"/> holding JSON are written as that JSON.</summary>
    public static void Json(JsonElement element, params string[] nested)
    {
        using var stream = System.Console.OpenStandardOutput();
        WriteJson(stream, element, nested);
    }

    internal static void WriteJson(Stream stream, JsonElement element, string[] nested)
    {
        using (var writer = new Utf8JsonWriter(stream, JsonOptions))
        {
            Write(writer, element, nested);
        }
        stream.Write("\n"u8);
    }

    private static void Write(Utf8JsonWriter writer, JsonElement element, string[] nested)
    {
        switch (element.ValueKind)
        {
            case JsonValueKind.Object:
                writer.WriteStartObject();
                foreach (var property in element.EnumerateObject())
                {
                    writer.WritePropertyName(property.Name);
                    if (property.Value.ValueKind == JsonValueKind.String && nested.Contains(property.Name) && Parse(property.Value.GetString()!) is { } document)
                    {
                        using (document) document.RootElement.WriteTo(writer);
                    }
                    else
                    {
                        Write(writer, property.Value, nested);
                    }
                }
                writer.WriteEndObject();
                break;
            case JsonValueKind.Array:
                writer.WriteStartArray();
                foreach (var item in element.EnumerateArray()) Write(writer, item, nested);
                writer.WriteEndArray();
                break;
            default:
                element.WriteTo(writer);
                break;
        }
    }

    private static JsonDocument? Parse(string text)
    {
        if (text.Length == 0 || text[0] is not ('{' or '[')) return null;
        try
        {
            return JsonDocument.Parse(text);
        }
        catch (JsonException)
        {
            return null;
        }
    }
}

/// <summary>Rows printed as a table, plain aligned columns or TSV; cells are plain text (no markup).</summary>
internal sealed class Rows(params string[] headers)
{
    private readonly List<string[]> _rows = [];
    private readonly HashSet<int> _long = [];
    private readonly Dictionary<int, Func<string, string?>> _colors = [];

    public int Count => _rows.Count;

    /// <summary>Marks columns holding long texts (errors, payloads): cut in a table unless <c>--wide</c>.</summary>
    public Rows Long(params int[] columns)
    {
        _long.UnionWith(columns);
        return this;
    }

    /// <summary>A color (Spectre name) per cell value of a column, in tables only.</summary>
    public Rows Color(int column, Func<string, string?> color)
    {
        _colors[column] = color;
        return this;
    }

    public void Add(params string?[] cells) => _rows.Add([.. cells.Select(c => c ?? "")]);

    public void Write(OutputFormat format, bool wide, string? title = null)
    {
        switch (format)
        {
            case OutputFormat.Tsv:
                WriteLine(string.Join('\t', headers.Select(Tsv)));
                foreach (var row in _rows) WriteLine(string.Join('\t', row.Select(Tsv)));
                break;
            case OutputFormat.Plain:
                var widths = headers.Select((h, i) => Math.Max(h.Length, _rows.Count == 0 ? 0 : _rows.Max(r => OneLine(r[i]).Length))).ToArray();
                WriteLine(Line(headers, widths));
                foreach (var row in _rows) WriteLine(Line([.. row.Select(OneLine)], widths));
                break;
            default:
                var table = new Table();
                if (title is not null) table.Title(Markup.Escape(title));
                foreach (var header in headers) table.AddColumn(Markup.Escape(header));
                foreach (var row in _rows)
                {
                    table.AddRow(row.Select((cell, i) =>
                    {
                        var text = !wide && _long.Contains(i) && cell.Length > Output.NarrowCell ? cell[..(Output.NarrowCell - 3)] + "..." : cell;
                        return _colors.TryGetValue(i, out var color) && color(cell) is { } c ? $"[{c}]{Markup.Escape(text)}[/]" : Markup.Escape(text);
                    }).ToArray());
                }
                Output.TableConsole().Write(table);
                break;
        }
    }

    private static string Line(string[] cells, int[] widths)
    {
        var line = new StringBuilder();
        for (var i = 0; i < cells.Length; i++)
        {
            if (i > 0) line.Append("  ");
            line.Append(i == cells.Length - 1 ? cells[i] : cells[i].PadRight(widths[i]));
        }
        return line.ToString().TrimEnd();
    }

    private static string OneLine(string text) => text.ReplaceLineEndings(" ");

    /// <summary>TSV cells hold no tab or line break: they are written as \t, \n and \\ (as PostgreSQL's text format does).</summary>
    private static string Tsv(string text) => text.Replace("\\", "\\\\", StringComparison.Ordinal).Replace("\t", "\\t", StringComparison.Ordinal)
        .Replace("\r", "\\r", StringComparison.Ordinal).Replace("\n", "\\n", StringComparison.Ordinal);

    private static void WriteLine(string line) => Console.Out.WriteLine(line);
}
