using System.Text;
using System.Text.Json;
using MegaFlow.Contracts;
using MegaFlow.Contracts.Management;
using MegaFlow.Contracts.Tasks;
using MegaFlow.Protocol.Tasks;
using Microsoft.AspNetCore.Http;

namespace MegaFlow.Management.Tasks;

/// <summary>
/// `tasks watch` on the server: a server-sent-event stream of the given tasks' status changes,
/// starting with each task's current state and ending (event "done") when all are terminal.
/// </summary>
/// <remarks>
/// Changes come from this node's task read model through <see cref="TaskWatchFeed"/>, the same watch
/// the client library uses (it catches up gaps and silences by sequence number). A quiet stream
/// carries a keep-alive comment every few seconds: the client gives up on a silent one.
/// </remarks>
public static class TaskWatch
{
    private static readonly TimeSpan KeepAliveEvery = TimeSpan.FromSeconds(5);

    public static async Task<IResult> RunAsync(ManagementNode node, IReadOnlyList<string> ids, HttpContext http)
    {
        var ct = http.RequestAborted;
        http.Response.ContentType = "text/event-stream";
        http.Response.Headers.CacheControl = "no-cache";
        var watched = ids.Distinct(StringComparer.Ordinal).ToList();
        var writing = new SemaphoreSlim(1, 1);

        async Task Write(string text)
        {
            await writing.WaitAsync(ct);
            try
            {
                await http.Response.WriteAsync(text, Encoding.UTF8, ct);
                await http.Response.Body.FlushAsync(ct);
            }
            finally
            {
                writing.Release();
            }
        }

        Task Send(string evt, object data) => Write($"event: {evt}\ndata: {JsonSerializer.Serialize(data, ManagementJson.Options)}\n\n");

        using var stop = CancellationTokenSource.CreateLinkedTokenSource(ct);
        var keepAlive = Task.Run(async () =>
        {
            using var timer = new PeriodicTimer(KeepAliveEvery);
            while (await timer.WaitForNextTickAsync(stop.Token)) await Write(": keep-alive\n\n");
        }, stop.Token);
        try
        {
            await foreach (var item in TaskWatchFeed.WatchAsync(node.System, watched, localFirst: true, ct))
            {
                if (item.Row is not { } r)
                {
                    await Send("unknown", new { taskId = item.TaskId, error = $"no task '{item.TaskId}'" });
                    continue;
                }
                await Send("change", new TaskChange(r.TaskId, StatusNames.Format(r.Status), r.Attempt, r.Node,
                    r.UpdatedAt ?? r.SubmittedAt ?? DateTimeOffset.UtcNow, r.Status.IsTerminal()));
            }
            await Send("done", new { tasks = watched.Count });
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
            // The client went away.
        }
        finally
        {
            await stop.CancelAsync();
            try { await keepAlive; } catch (OperationCanceledException) { }
        }
        return Results.Empty;
    }
}
