using System.Diagnostics;
using System.Text.Json;

namespace MegaFlow.Model.Tests;

/// <summary>
/// The official `openai` npm package (7.55.0, pinned in js/package-lock.json), run with Node, against
/// our API. The package is installed with `npm ci` into the test output's js/ folder on first use
/// (the npm registry is reachable on every machine of this project); a missing node or npm fails.
/// </summary>
public sealed class OpenAiJsClientTests(ModelServerFixture f) : IClassFixture<ModelServerFixture>
{
    private static readonly SemaphoreSlim InstallLock = new(1);

    [Fact]
    public async Task The_official_openai_npm_client_completes_a_chat_with_logprobs()
    {
        var js = Path.Combine(AppContext.BaseDirectory, "js");
        await EnsureInstalled(js);
        var (code, stdout, stderr) = await Run("node", "chat.mjs", js, TimeSpan.FromMinutes(2),
            ("MEGAFLOW_BASE_URL", new Uri(f.Server.BaseAddress, "v1").ToString()), ("MEGAFLOW_MODEL", ModelServerFixture.ModelName));
        Assert.True(code == 0, $"node chat.mjs exited {code}: {stderr}");
        var completion = JsonDocument.Parse(stdout).RootElement;
        Assert.Equal("chat.completion", completion.GetProperty("object").GetString());
        var choice = completion.GetProperty("choices")[0];
        var content = choice.GetProperty("logprobs").GetProperty("content").EnumerateArray().ToList();
        var ids = choice.GetProperty("megaflow").GetProperty("token_ids").EnumerateArray().Select(e => e.GetInt32()).ToArray();
        var visible = choice.GetProperty("finish_reason").GetString() == "stop" ? ids.Length - 1 : ids.Length;
        Assert.Equal(visible, content.Count);
        Assert.All(content, t => Assert.Equal(2, t.GetProperty("top_logprobs").GetArrayLength()));
        var prompt = completion.GetProperty("megaflow").GetProperty("prompt_token_ids").EnumerateArray().Select(e => e.GetInt32()).ToArray();
        var expected = f.TrainingLogProbs(prompt, ids);
        for (var i = 0; i < content.Count; i++)
            Assert.True(Math.Abs(content[i].GetProperty("logprob").GetDouble() - expected[i]) < 1e-4);
    }

    private static async Task EnsureInstalled(string js)
    {
        await InstallLock.WaitAsync();
        try
        {
            if (File.Exists(Path.Combine(js, "node_modules", "openai", "package.json"))) return;
            var (code, stdout, stderr) = await Run("npm", "ci --no-audit --no-fund --loglevel=error", js, TimeSpan.FromMinutes(5));
            Assert.True(code == 0, $"npm ci in {js} exited {code}: {stdout}{stderr}");
        }
        finally
        {
            InstallLock.Release();
        }
    }

    private static async Task<(int Code, string Stdout, string Stderr)> Run(string file, string args, string dir, TimeSpan timeout, params (string, string)[] env)
    {
        var start = new ProcessStartInfo(file, args) { WorkingDirectory = dir, RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var (k, v) in env) start.Environment[k] = v;
        using var process = Process.Start(start) ?? throw new InvalidOperationException($"could not start {file}");
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var cts = new CancellationTokenSource(timeout);
        try
        {
            await process.WaitForExitAsync(cts.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"{file} {args} did not finish within {timeout}");
        }
        return (process.ExitCode, await stdout, await stderr);
    }
}
