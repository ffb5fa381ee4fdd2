using System.Text;

namespace MegaFlow.Bench;

/// <summary>A plain-text table with aligned columns (also valid Markdown).</summary>
public sealed class ResultTable(params string[] headers)
{
    private readonly List<string[]> _rows = [];

    public void Add(params string[] cells) => _rows.Add(cells);

    public string Render()
    {
        var widths = headers.Select((h, i) => _rows.Select(r => r[i].Length).Append(h.Length).Max()).ToArray();
        var sb = new StringBuilder();
        void Line(IReadOnlyList<string> cells) =>
            sb.Append("| ").AppendJoin(" | ", cells.Select((c, i) => c.PadRight(widths[i]))).AppendLine(" |");
        Line(headers);
        sb.Append('|').AppendJoin('|', widths.Select(w => new string('-', w + 2))).AppendLine("|");
        foreach (var r in _rows) Line(r);
        return sb.ToString();
    }
}
