using System.Net.Http.Headers;
using System.Net.Http.Json;
using MegaFlow.Contracts.Tasks;
using MegaFlow.Domain.Tasks;
using MegaFlow.Contracts.Management;
using MegaFlow.Management.Http;

namespace MegaFlow.Chaos;

/// <summary>The nodes' management API, as an operator's script uses it: cluster view and task submission.</summary>
public sealed class ManagementApi(string token) : IDisposable
{
    // Longer than the node's own 30 s ask timeout for a submission, so the node's answer (even a
    // timeout) arrives rather than the harness giving up first on a loaded machine.
    private readonly HttpClient _http = new() { Timeout = TimeSpan.FromSeconds(45) };

    /// <summary>GET /api/cluster on one node; null when it does not answer (dead, starting).</summary>
    public async Task<ClusterView?> ClusterAsync(ChaosNode node, CancellationToken ct = default)
    {
        try
        {
            using var cts = CancellationTokenSource.CreateLinkedTokenSource(ct);
            cts.CancelAfter(TimeSpan.FromSeconds(5));
            return await _http.GetFromJsonAsync<ClusterView>($"http://127.0.0.1:{node.ManagementPort}/api/cluster", ManagementJson.Options, cts.Token);
        }
        catch (Exception e) when (e is HttpRequestException or TaskCanceledException or System.Text.Json.JsonException && !ct.IsCancellationRequested)
        {
            return null;
        }
    }

    /// <summary>POST /api/tasks with a list of specs; throws on anything but the per-spec answers.</summary>
    public async Task<IReadOnlyList<SubmitResult>> SubmitAsync(ChaosNode node, IReadOnlyList<TaskSpec> specs, CancellationToken ct = default)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, $"http://127.0.0.1:{node.ManagementPort}/api/tasks")
        {
            Content = JsonContent.Create(specs, options: ManagementJson.Options),
        };
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
        using var response = await _http.SendAsync(request, ct);
        // 422: every spec of the body was rejected; the body still lists why, per spec.
        if (!response.IsSuccessStatusCode && (int)response.StatusCode != 422)
            throw new HttpRequestException($"{node.Name}: POST /api/tasks answered {(int)response.StatusCode}: {await response.Content.ReadAsStringAsync(ct)}");
        return await response.Content.ReadFromJsonAsync<List<SubmitResult>>(ManagementJson.Options, ct)
               ?? throw new HttpRequestException($"{node.Name}: POST /api/tasks answered no body");
    }

    public void Dispose() => _http.Dispose();
}
