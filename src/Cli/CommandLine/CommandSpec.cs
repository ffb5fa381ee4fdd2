namespace MegaFlow.Cli.CommandLine;

/// <summary>A positional argument. <paramref name="Many"/>: takes every remaining positional (at least one if required).</summary>
public sealed record ArgSpec(string Name, bool Required = true, bool Many = false);

/// <summary>An option: <c>--name VALUE</c>, or a flag when <paramref name="Value"/> is null.</summary>
public sealed record OptionSpec(string Name, string? Value, string Help);

/// <summary>One command of a palette ("cluster down ADDRESS"); <paramref name="Verb"/> is null for one-word palettes ("pools").</summary>
public sealed record CommandSpec(
    string Palette,
    string? Verb,
    string Summary,
    IReadOnlyList<ArgSpec> Args,
    IReadOnlyList<OptionSpec> Options,
    Func<CliContext, ParsedCommand, Task<int>> Run)
{
    public string Name => Verb is null ? Palette : $"{Palette} {Verb}";

    public string Synopsis =>
        string.Join(' ', new[] { Name }
            .Concat(Args.Select(a => (a.Required ? a.Name : $"[{a.Name}]") + (a.Many ? "..." : "")))
            .Concat(Options.Select(o => o.Value is null ? $"[--{o.Name}]" : $"[--{o.Name} {o.Value}]")));
}

/// <summary>A command line that parsed: the command, its positionals by name, and its options.</summary>
public sealed record ParsedCommand(CommandSpec Spec, IReadOnlyDictionary<string, IReadOnlyList<string>> Args, IReadOnlyDictionary<string, string?> Options, GlobalOptions Global)
{
    public string Arg(string name) => Args[name][0];

    public string? OptionalArg(string name) => Args.TryGetValue(name, out var v) && v.Count > 0 ? v[0] : null;

    public IReadOnlyList<string> Many(string name) => Args.TryGetValue(name, out var v) ? v : [];

    public bool Flag(string name) => Options.ContainsKey(name);

    public string? Option(string name) => Options.GetValueOrDefault(name);
}

/// <summary>Options every client command takes.</summary>
/// <param name="Node">The management API's base address, e.g. http://127.0.0.1:8558/.</param>
public sealed record GlobalOptions(Uri Node, string? Token, bool Json);

/// <summary>The command line is wrong; the message names what (printed with the usage, exit code 2).</summary>
public sealed class UsageException(string message) : Exception(message);
