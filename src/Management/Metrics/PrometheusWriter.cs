using System.Globalization;
using System.Text;

namespace MegaFlow.Management.Metrics;

/// <summary>
/// Writes the Prometheus text exposition format (version 0.0.4): a HELP and TYPE line per metric
/// family, then its samples. Small enough to own, so the node needs no metrics package.
/// </summary>
public sealed class PrometheusWriter
{
    public const string ContentType = "text/plain; version=0.0.4; charset=utf-8";

    private readonly StringBuilder _text = new();

    public PrometheusWriter Family(string name, string type, string help)
    {
        _text.Append("# HELP ").Append(name).Append(' ').Append(EscapeHelp(help)).Append('\n');
        _text.Append("# TYPE ").Append(name).Append(' ').Append(type).Append('\n');
        return this;
    }

    public PrometheusWriter Sample(string name, double value, params (string Name, string Value)[] labels)
    {
        _text.Append(name);
        if (labels.Length > 0)
        {
            _text.Append('{');
            for (var i = 0; i < labels.Length; i++)
            {
                if (i > 0) _text.Append(',');
                _text.Append(labels[i].Name).Append("=\"").Append(EscapeLabel(labels[i].Value)).Append('"');
            }
            _text.Append('}');
        }
        _text.Append(' ').Append(FormatValue(value)).Append('\n');
        return this;
    }

    /// <summary>One gauge or counter family with a single unlabelled sample.</summary>
    public PrometheusWriter Single(string name, string type, string help, double value) => Family(name, type, help).Sample(name, value);

    public PrometheusWriter Histogram(string name, string help, HistogramSnapshot h)
    {
        Family(name, "histogram", help);
        long cumulative = 0;
        for (var i = 0; i < h.Bounds.Count; i++)
        {
            cumulative += h.Counts[i];
            Sample(name + "_bucket", cumulative, ("le", FormatValue(h.Bounds[i])));
        }
        Sample(name + "_bucket", h.Count, ("le", "+Inf"));
        Sample(name + "_sum", h.Sum);
        Sample(name + "_count", h.Count);
        return this;
    }

    public override string ToString() => _text.ToString();

    public static string FormatValue(double v) =>
        double.IsPositiveInfinity(v) ? "+Inf"
        : double.IsNegativeInfinity(v) ? "-Inf"
        : double.IsNaN(v) ? "NaN"
        : v.ToString("R", CultureInfo.InvariantCulture);

    // The format's escapes: label values escape backslash, quote and newline; help text backslash and newline.
    private static string EscapeLabel(string s) => s.Replace("\\", "\\\\").Replace("\"", "\\\"").Replace("\n", "\\n");

    private static string EscapeHelp(string s) => s.Replace("\\", "\\\\").Replace("\n", "\\n");
}
