using Spectre.Console;

namespace MegaFlow.Cli.Palettes;

/// <summary>Small helpers shared by the palettes' tables.</summary>
internal static class Render
{
    public static string E(string? s) => Markup.Escape(s ?? "");

    public static Table Table(params string[] columns)
    {
        var t = new Table().Border(TableBorder.Rounded);
        foreach (var c in columns) t.AddColumn(c);
        return t;
    }

    public static string Time(DateTimeOffset? t) => t?.ToLocalTime().ToString("yyyy-MM-dd HH:mm:ss") ?? "";
}
