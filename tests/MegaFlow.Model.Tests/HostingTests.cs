using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Text.Json;
using MegaFlow.Model.Policy;
using MegaFlow.Model.Weights;
using MegaFlow.ModelService.Hosting;
using MegaFlow.Storage;
using Microsoft.Extensions.Hosting;

namespace MegaFlow.Model.Tests;

/// <summary>The model role as a node hosts it: settings from MEGAFLOW_MODEL_*, weights from the artifact store, swaps over HTTP.</summary>
public sealed class HostingTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("megaflow-model-host-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private static int FreePort()
    {
        using var l = new TcpListener(IPAddress.Loopback, 0);
        l.Start();
        return ((IPEndPoint)l.LocalEndpoint).Port;
    }

    [Fact]
    public async Task A_model_node_initialises_version_0_serves_it_and_swaps_to_a_saved_version_on_request()
    {
        var port = FreePort();
        var env = new Dictionary<string, string> { ["MEGAFLOW_MODEL_NAME"] = "hosted", ["MEGAFLOW_MODEL_PORT"] = port.ToString(), ["MEGAFLOW_MODEL_HIDDEN_SIZE"] = "64", ["MEGAFLOW_MODEL_SEED"] = "9" };
        var settings = ModelServiceSettings.FromEnvironment(k => env.GetValueOrDefault(k));
        using var host = Host.CreateDefaultBuilder().AddMegaFlowModelService(settings, new LocalFolderArtifactStore(Path.Combine(_dir, "artifacts"))).Build();
        await host.StartAsync();
        using var http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{port}/") };
        async Task<JsonElement> Model() => JsonDocument.Parse(await http.GetStringAsync("v1/models")).RootElement.GetProperty("data")[0].GetProperty("megaflow");

        Assert.Equal(0, (await Model()).GetProperty("weight_version").GetInt64());
        Assert.Equal(64, (await Model()).GetProperty("config").GetProperty("hidden_size").GetInt32());
        var store = new WeightStore(new LocalFolderArtifactStore(Path.Combine(_dir, "artifacts")));
        Assert.Equal(0, await store.LatestVersionAsync("hosted")); // version 0 was saved for other nodes

        // A trainer publishes version 1; the node is told to serve it.
        using (var v0 = await store.LoadAsync("hosted", 0))
        using (var v1 = v0.AsVersion(1))
            await store.SaveAsync(v1);
        var swap = await http.PostAsync("v1/megaflow/weights", new StringContent("""{"version":1}""", Encoding.UTF8, "application/json"));
        Assert.Equal(HttpStatusCode.OK, swap.StatusCode);
        var chat = await http.PostAsync("v1/chat/completions", new StringContent("""{"model":"hosted","messages":[{"role":"user","content":"hi"}],"max_tokens":3}""", Encoding.UTF8, "application/json"));
        Assert.Equal(1, JsonDocument.Parse(await chat.Content.ReadAsStringAsync()).RootElement.GetProperty("megaflow").GetProperty("weight_version").GetInt64());
        var missing = await http.PostAsync("v1/megaflow/weights", new StringContent("""{"version":7}""", Encoding.UTF8, "application/json"));
        Assert.Equal(HttpStatusCode.BadRequest, missing.StatusCode);
        Assert.Equal("version", JsonDocument.Parse(await missing.Content.ReadAsStringAsync()).RootElement.GetProperty("error").GetProperty("param").GetString());
        await host.StopAsync();
    }

    [Fact]
    public void Invalid_model_settings_name_their_variable()
    {
        Assert.Contains("MEGAFLOW_MODEL_PORT", Assert.Throws<ArgumentException>(() => ModelServiceSettings.FromEnvironment(k => k == "MEGAFLOW_MODEL_PORT" ? "eighty" : null)).Message);
        Assert.Contains("MEGAFLOW_MODEL_VERSION", Assert.Throws<ArgumentException>(() => ModelServiceSettings.FromEnvironment(k => k == "MEGAFLOW_MODEL_VERSION" ? "-1" : null)).Message);
        Assert.Contains("MEGAFLOW_MODEL_ADDRESS", Assert.Throws<ArgumentException>(() => ModelServiceSettings.FromEnvironment(k => k == "MEGAFLOW_MODEL_ADDRESS" ? "localhost" : null)).Message);
    }
}
