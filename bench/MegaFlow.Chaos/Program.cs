using System.Globalization;
using MegaFlow.Chaos;

// Chaos harness: N real node processes on PostgreSQL, kill -9 and restarts (the scheduler's node
// among them), an optional PostgreSQL outage, then a verifier over the journal. Usage: --help.
CultureInfo.DefaultThreadCurrentCulture = CultureInfo.InvariantCulture;
CultureInfo.CurrentCulture = CultureInfo.InvariantCulture;

if (args.Contains("--help") || args.Contains("-h"))
{
    Console.WriteLine(ChaosOptions.Usage);
    return 0;
}
ChaosOptions options;
try
{
    options = ChaosOptions.Parse(args);
}
catch (ArgumentException e)
{
    Console.Error.WriteLine($"MegaFlow.Chaos: {e.Message}");
    Console.Error.WriteLine(ChaosOptions.Usage);
    return 2;
}

using var cancel = new CancellationTokenSource();
Console.CancelKeyPress += (_, e) =>
{
    // First Ctrl-C: stop and clean up (nodes killed, database dropped); a second one kills the harness.
    if (cancel.IsCancellationRequested) return;
    e.Cancel = true;
    cancel.Cancel();
};

ChaosResult result;
try
{
    result = await ChaosRun.RunAsync(options, line => Console.WriteLine(line), cancel.Token);
}
catch (Exception e) when (e is InvalidOperationException or OperationCanceledException)
{
    Console.Error.WriteLine($"MegaFlow.Chaos: the run could not complete: {e.Message}");
    return 2;
}

Console.WriteLine();
Console.WriteLine(result.Table());
foreach (var i in result.Chaos.Invariants)
    Console.WriteLine($"{(i.Held ? "ok  " : "FAIL")} {i.Name}{(i.Detail.Length > 0 ? $" — {i.Detail}" : "")}");
if (options.Out is { } file)
{
    File.WriteAllText(file, result.Markdown());
    Console.WriteLine($"report written to {Path.GetFullPath(file)}");
}
if (!result.Passed) Console.WriteLine($"logs kept in {result.Chaos.WorkDir}/logs");
return result.Passed ? 0 : 1;
