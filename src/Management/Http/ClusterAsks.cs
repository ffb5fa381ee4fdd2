using System.Diagnostics;
using Akka.Actor;

namespace MegaFlow.Management.Http;

/// <summary>An actor the route depends on did not answer in time; answered 504 naming it.</summary>
public sealed class NotAnsweredException(string what, TimeSpan timeout)
    : Exception($"{what} did not answer within {ClusterAsks.Seconds(timeout)}");

/// <summary>An item of a fan-out that gave no answer, and why.</summary>
public sealed record Unanswered<TItem>(TItem Item, string Reason);

/// <summary>A fan-out's answers and the items that gave none.</summary>
public sealed record AskedEach<TItem, TAnswer>(IReadOnlyList<(TItem Item, TAnswer Answer)> Answered, IReadOnlyList<Unanswered<TItem>> Unanswered);

/// <summary>How the routes ask actors: one that must answer, or many of which some may not.</summary>
public static class ClusterAsks
{
    /// <summary>
    /// Asks one actor the route cannot answer without; a timeout becomes a
    /// <see cref="NotAnsweredException"/> that says which actor (<paramref name="what"/>) it was.
    /// </summary>
    public static Task<T> AskAsync<T>(this ICanTell target, object message, TimeSpan timeout, string what, CancellationToken ct = default) =>
        Naming(target.Ask<T>(message, timeout, ct), what, timeout);

    /// <summary>An ask made elsewhere (a gateway's), its timeout naming what did not answer.</summary>
    public static async Task<T> Naming<T>(Task<T> ask, string what, TimeSpan timeout)
    {
        try
        {
            return await ask;
        }
        catch (AskTimeoutException)
        {
            throw new NotAnsweredException(what, timeout);
        }
    }

    /// <summary>
    /// Asks every item at most <paramref name="parallelism"/> at a time, each within
    /// <paramref name="each"/> and all within <paramref name="deadline"/>: a listing answers with what
    /// did answer instead of failing whole because one actor is stuck (a blocked or crash-looping
    /// entity must not hide the healthy ones). Items not asked before the deadline are unanswered too.
    /// Only the caller's own cancellation (the client went away) throws.
    /// </summary>
    public static async Task<AskedEach<TItem, TAnswer>> EachAsync<TItem, TAnswer>(
        IReadOnlyList<TItem> items, Func<TItem, TimeSpan, CancellationToken, Task<TAnswer>> ask,
        TimeSpan each, TimeSpan deadline, int parallelism, CancellationToken ct)
    {
        var started = Stopwatch.GetTimestamp();
        using var gate = new SemaphoreSlim(parallelism);
        var outcomes = await Task.WhenAll(items.Select(async Task<Outcome<TItem, TAnswer>> (item) =>
        {
            await gate.WaitAsync(ct);
            try
            {
                // Every ask ends by the deadline, so a waiting item gets its turn before it passes.
                var left = deadline - Stopwatch.GetElapsedTime(started);
                if (left <= TimeSpan.Zero)
                    return new(item, default, $"not asked: the listing's {Seconds(deadline)} deadline had passed");
                var timeout = left < each ? left : each;
                try
                {
                    return new(item, await ask(item, timeout, ct), null);
                }
                catch (AskTimeoutException)
                {
                    return new(item, default, $"no answer within {Seconds(timeout)}");
                }
                catch (Exception e) when (!ct.IsCancellationRequested)
                {
                    return new(item, default, e.Message);
                }
            }
            finally
            {
                gate.Release();
            }
        }));
        return new AskedEach<TItem, TAnswer>(
            outcomes.Where(o => o.Reason is null).Select(o => (o.Item, o.Answer!)).ToList(),
            outcomes.Where(o => o.Reason is not null).Select(o => new Unanswered<TItem>(o.Item, o.Reason!)).ToList());
    }

    private readonly record struct Outcome<TItem, TAnswer>(TItem Item, TAnswer? Answer, string? Reason);

    internal static string Seconds(TimeSpan t) => $"{t.TotalSeconds:0.#} s";
}
