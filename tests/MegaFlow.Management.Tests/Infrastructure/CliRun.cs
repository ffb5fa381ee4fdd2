using System.Text.Json;
using MegaFlow.Node.Tests;

namespace MegaFlow.Management.Tests.Infrastructure;

/// <summary>The outcome of one `megaflow` CLI process.</summary>
public sealed record CliResult(int ExitCode, string Output)
{
    /// <summary>Asserts exit code 0, showing the command's output when it is not.</summary>
    public CliResult Ok()
    {
        Assert.True(ExitCode == 0, $"exit code {ExitCode}:\n{Output}");
        return this;
    }

    /// <summary>The JSON document printed by a --json command (the output is only that document).</summary>
    public JsonElement Json()
    {
        try
        {
            return JsonDocument.Parse(Output).RootElement;
        }
        catch (JsonException e)
        {
            throw new InvalidOperationException($"not JSON ({e.Message}):\n{Output}");
        }
    }
}

/// <summary>Runs the real `megaflow` executable as an operator would.</summary>
public static class CliRun
{
    public static async Task<CliResult> RunAsync(IReadOnlyDictionary<string, string>? env, params string[] args)
    {
        using var p = MegaflowProcess.Start(new Dictionary<string, string>(env ?? new Dictionary<string, string>()), args);
        var code = await p.WaitForExitAsync(TimeSpan.FromMinutes(3));
        return new CliResult(code, p.Output);
    }

    /// <summary>Runs against the management API at <paramref name="api"/> (host:port) with <paramref name="token"/>.</summary>
    public static Task<CliResult> OnAsync(string api, string token, params string[] args) =>
        RunAsync(new Dictionary<string, string> { ["MEGAFLOW_NODE"] = api, ["MEGAFLOW_MANAGEMENT_TOKEN"] = token }, args);

    /// <summary>Polls the node's /ready at <paramref name="api"/> (host:port) until it answers 200.</summary>
    public static async Task WaitReadyAsync(string api, TimeSpan timeout, Func<string>? detail = null)
    {
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(5) };
        await Eventually(() => IsReadyAsync(http, api), timeout, $"the node at {api} is ready", detail);
    }

    /// <summary>True when the node's /ready at <paramref name="api"/> answers 200.</summary>
    public static async Task<bool> IsReadyAsync(HttpClient http, string api)
    {
        try
        {
            return (await http.GetAsync($"http://{api}/ready")).IsSuccessStatusCode;
        }
        catch (Exception e) when (e is HttpRequestException or TaskCanceledException)
        {
            return false; // not listening yet, or busy starting
        }
    }

    /// <summary>Polls until <paramref name="condition"/> holds, or fails with <paramref name="what"/>.</summary>
    public static async Task Eventually(Func<Task<bool>> condition, TimeSpan timeout, string what, Func<string>? detail = null)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (!await condition())
        {
            if (DateTime.UtcNow > deadline) throw new TimeoutException($"not within {timeout}: {what}\n{detail?.Invoke()}");
            await Task.Delay(500);
        }
    }
}
