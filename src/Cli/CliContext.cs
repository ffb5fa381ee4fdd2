using System.Text.Encodings.Web;
using System.Text.Json;
using Spectre.Console;

namespace MegaFlow.Cli;

/// <summary>What a command runs with: the node's client and where to print.</summary>
public sealed class CliContext(ManagementClient client, IAnsiConsole console, TextWriter output, TextWriter error, bool json)
{
    public ManagementClient Client { get; } = client;

    /// <summary>--json: print the node's JSON answer instead of tables.</summary>
    public bool Json { get; } = json;

    /// <summary>Tables and markup.</summary>
    public IAnsiConsole Console { get; } = console;

    /// <summary>Plain lines (JSON, progress) that must not be wrapped or styled.</summary>
    public TextWriter Out { get; } = output;

    public TextWriter Error { get; } = error;

    /// <summary>Prints the node's JSON answer, indented.</summary>
    public void PrintJson(string json)
    {
        using var doc = JsonDocument.Parse(json);
        Out.WriteLine(JsonSerializer.Serialize(doc.RootElement, Indented));
    }

    private static readonly JsonSerializerOptions Indented = new() { WriteIndented = true, Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    /// <summary>
    /// A console for tables: when output goes to a file or pipe it is wide and plain, so addresses
    /// and ids are never wrapped mid-word for the scripts reading it.
    /// </summary>
    public static IAnsiConsole CreateConsole(TextWriter output)
    {
        var redirected = ReferenceEquals(output, System.Console.Out) ? System.Console.IsOutputRedirected : true;
        var console = AnsiConsole.Create(new AnsiConsoleSettings
        {
            Out = new AnsiConsoleOutput(output),
            Ansi = redirected ? AnsiSupport.No : AnsiSupport.Detect,
            ColorSystem = redirected ? ColorSystemSupport.NoColors : ColorSystemSupport.Detect,
        });
        if (redirected) console.Profile.Width = 250;
        return console;
    }
}
