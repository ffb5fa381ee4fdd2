using System.Text;
using System.Text.Json;
using System.Threading.Channels;
using Akka.Actor;
using MegaFlow.Contracts.Tasks;
using MegaFlow.Domain.Tasks;
using MegaFlow.Contracts.Management;
using MegaFlow.Management.Http;
using Microsoft.AspNetCore.Http;
using static MegaFlow.Contracts.Tasks.TaskProtocol;

namespace MegaFlow.Management.Tasks;

/// <summary>
/// `tasks watch` on the server: a server-sent-event stream of the given tasks' status changes,
/// starting with each task's current state and ending (event "done") when all are terminal.
/// </summary>
/// <remarks>
/// Changes come from the node's task projection (fed by the task-events topic). It listens before
/// the current states are asked, so no change falls in between; pub-sub may still lose a message,
/// so tasks that stay quiet are re-asked every few seconds and a missed change is sent then.
/// </remarks>
public static class TaskWatch
{
    private static readonly TimeSpan RecheckEvery = TimeSpan.FromSeconds(5);

    /// <summary>
    /// Open tasks re-asked per quiet period, in rotation: a watch of 10,000 queued tasks must not
    /// send 10,000 asks every few seconds. A change lost by pub-sub is still found, a little later.
    /// </summary>
    private const int RecheckBatch = 256;

    public static async Task<IResult> RunAsync(ManagementNode node, IReadOnlyList<string> ids, HttpContext http)
    {
        var ct = http.RequestAborted;
        var watched = ids.ToHashSet(StringComparer.Ordinal);
        var changes = Channel.CreateBounded<TaskChange>(new BoundedChannelOptions(100_000) { FullMode = BoundedChannelFullMode.DropOldest });
        using var listening = node.Tasks.Listen(c => { if (watched.Contains(c.TaskId)) changes.Writer.TryWrite(c); });

        http.Response.ContentType = "text/event-stream";
        http.Response.Headers.CacheControl = "no-cache";
        var sent = new Dictionary<string, (TaskStatus Status, int Attempt)>();
        var open = new HashSet<string>(StringComparer.Ordinal);
        var recheckFrom = 0;

        async Task Send(string evt, object data)
        {
            var json = JsonSerializer.Serialize(data, ManagementJson.Options);
            await http.Response.WriteAsync($"event: {evt}\ndata: {json}\n\n", Encoding.UTF8, ct);
            await http.Response.Body.FlushAsync(ct);
        }

        async Task Report(TaskState s)
        {
            if (s.Status == TaskStatus.Unknown)
            {
                open.Remove(s.TaskId);
                await Send("unknown", new { taskId = s.TaskId, error = $"no task '{s.TaskId}'" });
                return;
            }
            if (sent.TryGetValue(s.TaskId, out var last) && last == (s.Status, s.Attempt)) return;
            sent[s.TaskId] = (s.Status, s.Attempt);
            if (s.Status.IsTerminal()) open.Remove(s.TaskId);
            await Send("change", new TaskChange(s.TaskId, TaskProjection.Lower(s.Status), s.Attempt, null,
                s.FinishedAt ?? s.RunStartedAt ?? s.AdmittedAt ?? s.QueuedAt ?? s.SubmittedAt ?? DateTimeOffset.UtcNow, s.Status.IsTerminal()));
        }

        try
        {
            foreach (var id in watched) open.Add(id);
            foreach (var state in await AskStatesAsync(node, watched, ct)) await Report(state);
            while (open.Count > 0)
            {
                using var quiet = CancellationTokenSource.CreateLinkedTokenSource(ct);
                quiet.CancelAfter(RecheckEvery);
                try
                {
                    var c = await changes.Reader.ReadAsync(quiet.Token);
                    if (!open.Contains(c.TaskId)) continue;
                    if (!Enum.TryParse<TaskStatus>(c.Status, ignoreCase: true, out var status)) continue;
                    if (sent.TryGetValue(c.TaskId, out var last) && (last.Attempt, (int)last.Status).CompareTo((c.Attempt, (int)status)) >= 0) continue;
                    sent[c.TaskId] = (status, c.Attempt);
                    if (c.Terminal) open.Remove(c.TaskId);
                    await Send("change", c);
                }
                catch (OperationCanceledException) when (!ct.IsCancellationRequested)
                {
                    // Quiet for a while: tell the client the stream is alive (it gives up on a silent
                    // one), and re-ask the open tasks (a lost pub-sub message must not hang the watch).
                    await http.Response.WriteAsync(": keep-alive\n\n", Encoding.UTF8, ct);
                    await http.Response.Body.FlushAsync(ct);
                    var candidates = open.ToList();
                    var start = recheckFrom % candidates.Count;
                    var batch = candidates.Skip(start).Concat(candidates.Take(start)).Take(RecheckBatch).ToList();
                    recheckFrom = start + batch.Count;
                    foreach (var state in await AskStatesAsync(node, batch, ct)) await Report(state);
                }
            }
            await Send("done", new { tasks = watched.Count });
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
            // The client went away.
        }
        return Results.Empty;
    }

    private static async Task<IReadOnlyList<TaskState>> AskStatesAsync(ManagementNode node, IEnumerable<string> ids, CancellationToken ct)
    {
        var states = new List<TaskState>();
        await Parallel.ForEachAsync(ids, new ParallelOptions { MaxDegreeOfParallelism = 16, CancellationToken = ct }, async (id, token) =>
        {
            try
            {
                var s = await node.Refs.Tasks.Ask<TaskState>(new GetTaskState(id), TaskRoutes.AskTimeout, token);
                lock (states) states.Add(s);
            }
            catch (AskTimeoutException)
            {
                // The task's shard is moving (a node left or died): the next quiet period asks again.
                // Throwing here would cut the stream the client is reading.
            }
        });
        return states;
    }
}
