using System.Net.Http.Json;

namespace MegaFlow.Trainer;

/// <summary>
/// Has every model node load a weight version from the shared store (POST …/megaflow/weights). A
/// node swaps between forward passes: requests in flight finish on the version they started with.
/// Retried with backoff until <see cref="TrainerSettings.SyncTimeout"/>, so a model node restarting
/// delays a step rather than failing it.
/// </summary>
public sealed class WeightPublisher(TrainerSettings settings, HttpClient http)
{
    public async Task PublishAsync(long version, CancellationToken ct)
    {
        await Task.WhenAll(settings.ModelEndpoints.Select(e => PublishAsync(e, version, ct)));
    }

    private async Task PublishAsync(Uri endpoint, long version, CancellationToken ct)
    {
        var url = new Uri(endpoint.ToString().TrimEnd('/') + "/megaflow/weights");
        var deadline = DateTimeOffset.UtcNow + settings.SyncTimeout;
        var delay = TimeSpan.FromMilliseconds(200);
        while (true)
        {
            string failure;
            try
            {
                using var response = await http.PostAsJsonAsync(url, new { version }, ct);
                if (response.IsSuccessStatusCode) return;
                failure = $"HTTP {(int)response.StatusCode}: {await response.Content.ReadAsStringAsync(ct)}";
                // The node answered and refused (no such version, another model): asking again changes nothing.
                if ((int)response.StatusCode is >= 400 and < 500 and not 408 and not 429)
                    throw new InvalidOperationException($"model node {endpoint} refused weight version {version}: {failure}");
            }
            catch (HttpRequestException e)
            {
                failure = e.Message;
            }
            if (DateTimeOffset.UtcNow + delay > deadline)
                throw new TimeoutException($"model node {endpoint} did not load weight version {version} within {settings.SyncTimeout.TotalSeconds:F0} s: {failure}");
            await Task.Delay(delay, ct);
            delay = TimeSpan.FromTicks(Math.Min(delay.Ticks * 2, TimeSpan.FromSeconds(5).Ticks));
        }
    }
}
