using Akka.Actor;
using MegaFlow.Protocol.Tasks;
using MegaFlow.Actors.Tasks;
using MegaFlow.Contracts.Tasks;
using MegaFlow.Domain.Tasks;
using static MegaFlow.Contracts.Tasks.TaskProtocol;

namespace MegaFlow.Bench;

/// <summary>Submits tasks with at most <c>parallelism</c> submissions in flight, counting the answers (readable while it runs).</summary>
public sealed class Submissions
{
    private int _accepted, _rejected, _errors;

    public int Accepted => Volatile.Read(ref _accepted);
    public int Rejected => Volatile.Read(ref _rejected);
    public int Errors => Volatile.Read(ref _errors);

    public async Task SubmitAsync(IActorRef tasks, int count, int parallelism, Func<int, TaskSpec> spec)
    {
        using var gate = new SemaphoreSlim(parallelism);
        var inFlight = new List<Task>(count);
        for (var i = 0; i < count; i++)
        {
            await gate.WaitAsync();
            var one = spec(i);
            inFlight.Add(Task.Run(async () =>
            {
                try
                {
                    var reply = await TaskGateway.SubmitAsync(tasks, one, TimeSpan.FromSeconds(120));
                    if (reply is SubmitAccepted) Interlocked.Increment(ref _accepted);
                    else Interlocked.Increment(ref _rejected);
                }
                catch (Exception ex) when (ex is AskTimeoutException or TaskCanceledException)
                {
                    Interlocked.Increment(ref _errors);
                }
                finally
                {
                    gate.Release();
                }
            }));
        }
        await Task.WhenAll(inFlight);
    }

    public override string ToString() => $"accepted {Accepted}, rejected {Rejected}, errors {Errors}";
}
