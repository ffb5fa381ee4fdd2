using System.Globalization;
using System.Text.RegularExpressions;

namespace MegaFlow.Management.Tests.Infrastructure;

/// <summary>One sample of a Prometheus text page.</summary>
public sealed record PromSample(string Name, IReadOnlyDictionary<string, string> Labels, double Value);

/// <summary>
/// A strict reader of the Prometheus text format (0.0.4) for assertions: every line must be a HELP,
/// a TYPE or a sample of a declared family, or parsing fails naming the line.
/// </summary>
public static partial class PrometheusText
{
    [GeneratedRegex("""^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})? (\S+)$""")]
    private static partial Regex SampleLine();

    [GeneratedRegex("""([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)",?""")]
    private static partial Regex Label();

    public static IReadOnlyList<PromSample> Parse(string text)
    {
        var types = new Dictionary<string, string>();
        var samples = new List<PromSample>();
        var n = 0;
        foreach (var line in text.Split('\n'))
        {
            n++;
            if (line.Length == 0) continue;
            if (line.StartsWith("# HELP ", StringComparison.Ordinal)) continue;
            if (line.StartsWith("# TYPE ", StringComparison.Ordinal))
            {
                var parts = line.Split(' ');
                if (parts.Length != 4 || parts[3] is not ("counter" or "gauge" or "histogram" or "summary" or "untyped"))
                    throw new FormatException($"line {n}: bad TYPE line '{line}'");
                if (!types.TryAdd(parts[2], parts[3])) throw new FormatException($"line {n}: family {parts[2]} declared twice");
                continue;
            }
            var m = SampleLine().Match(line);
            if (!m.Success) throw new FormatException($"line {n}: not a sample '{line}'");
            var name = m.Groups[1].Value;
            var family = types.ContainsKey(name) ? name : Regex.Replace(name, "_(bucket|sum|count)$", "");
            if (!types.ContainsKey(family)) throw new FormatException($"line {n}: sample of undeclared family '{name}'");
            var labels = new Dictionary<string, string>();
            if (m.Groups[3].Success)
            {
                var rest = m.Groups[3].Value;
                var matched = Label().Matches(rest);
                if (string.Concat(matched.Select(x => x.Value)) != rest) throw new FormatException($"line {n}: bad labels '{rest}'");
                foreach (Match l in matched) labels[l.Groups[1].Value] = l.Groups[2].Value.Replace("\\\"", "\"").Replace("\\n", "\n").Replace("\\\\", "\\");
            }
            var valueText = m.Groups[4].Value;
            var value = valueText switch
            {
                "+Inf" => double.PositiveInfinity,
                "-Inf" => double.NegativeInfinity,
                "NaN" => double.NaN,
                _ => double.TryParse(valueText, NumberStyles.Float, CultureInfo.InvariantCulture, out var v) ? v : throw new FormatException($"line {n}: bad value '{valueText}'"),
            };
            samples.Add(new PromSample(name, labels, value));
        }
        return samples;
    }

    public static double Value(this IReadOnlyList<PromSample> samples, string name, params (string Name, string Value)[] labels) =>
        samples.Single(s => s.Name == name && labels.All(l => s.Labels.GetValueOrDefault(l.Name) == l.Value)).Value;
}
