using Akka.Actor;
using Akka.Cluster;
using Akka.Hosting;
using MegaFlow.Contracts.Management;
using MegaFlow.Contracts.Tasks;
using MegaFlow.Contracts.Training;
using MegaFlow.Management.Http;
using MegaFlow.Protocol;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using static MegaFlow.Contracts.Training.TrainerProtocol;

namespace MegaFlow.Management.Training;

/// <summary>
/// Experiments, through this node's proxy to the trainer singleton: list, show, start (token), pause and
/// resume intake (token). Without a trainer node the proxy would hold the message until one comes, so
/// the routes first look for an Up member with the trainer role and answer 503 at once when there is
/// none, and ask with a short timeout (a 503 naming the trainer) rather than leave the dashboard waiting.
/// </summary>
public static class TrainingRoutes
{
    /// <summary>Reads (list, show, pause): the trainer answers from memory.</summary>
    public static readonly TimeSpan AskTimeout = TimeSpan.FromSeconds(3);

    /// <summary>A start waits for the trainer to load the weights and persist the experiment's first event.</summary>
    public static readonly TimeSpan StartTimeout = TimeSpan.FromSeconds(45);

    /// <summary>A spec is a few hundred bytes; anything this large is not one.</summary>
    private const int MaxSpecBytes = 64 * 1024;

    public static void Map(RouteGroupBuilder api, MutationGuard guard)
    {
        api.MapGet("/training/experiments", async (ManagementNode node, CancellationToken ct) =>
        {
            var list = await AskAsync<ExperimentList>(node, ListExperiments.Instance, AskTimeout, ct);
            return ApiResults.Ok(list.Experiments);
        });

        api.MapGet("/training/experiments/{id}", async (ManagementNode node, string id, CancellationToken ct) =>
            Answer(id, await AskAsync<object>(node, new GetExperiment(id), AskTimeout, ct)));

        api.MapPost("/training/experiments", async (ManagementNode node, HttpRequest request, CancellationToken ct) =>
        {
            var read = ExperimentSpecJson.Parse(await ReadBodyAsync(request, ct));
            if (!read.Ok)
                return SpecRejected(read.Errors);
            var spec = read.Spec!;
            return await AskAsync<object>(node, new StartExperiment(spec), StartTimeout, ct) switch
            {
                ExperimentAccepted a => Results.Json(new ExperimentStartAnswer(a.Id, a.AlreadyKnown,
                        a.AlreadyKnown ? $"experiment '{a.Id}' exists with this spec: it carries on from its journal" : $"experiment '{a.Id}' started"),
                    ManagementJson.Options, statusCode: StatusCodes.Status202Accepted),
                ExperimentRejected r => ApiResults.Error(StatusCodes.Status409Conflict, "conflict",
                    $"the trainer refused experiment '{r.Id}': {string.Join("; ", r.Errors)}"),
                var other => Unexpected(other),
            };
        }).RequireToken(guard);

        api.MapPost("/training/experiments/{id}/pause", (ManagementNode node, string id, CancellationToken ct) => PauseAsync(node, id, true, ct)).RequireToken(guard);
        api.MapPost("/training/experiments/{id}/resume", (ManagementNode node, string id, CancellationToken ct) => PauseAsync(node, id, false, ct)).RequireToken(guard);
    }

    /// <summary>400 naming every field at fault; nothing was sent to the trainer.</summary>
    public static IResult SpecRejected(IReadOnlyList<ValidationError> errors) =>
        Results.Json(new FieldErrors($"nothing started: {string.Join("; ", errors)}", "invalid_spec", errors),
            ManagementJson.Options, statusCode: StatusCodes.Status400BadRequest);

    private static async Task<IResult> PauseAsync(ManagementNode node, string id, bool paused, CancellationToken ct) =>
        Answer(id, await AskAsync<object>(node, new PauseIntake(id, paused), AskTimeout, ct));

    /// <summary>A report, or the trainer's "no experiment" as 404.</summary>
    private static IResult Answer(string id, object reply) => reply switch
    {
        ExperimentReport r => ApiResults.Ok(r),
        ExperimentRejected => ApiResults.NotFound($"no experiment '{id}' on the trainer"),
        var other => Unexpected(other),
    };

    private static IResult Unexpected(object reply) =>
        ApiResults.Error(StatusCodes.Status500InternalServerError, "unexpected", $"unexpected reply {reply.GetType().Name} from the trainer");

    private static async Task<T> AskAsync<T>(ManagementNode node, object message, TimeSpan timeout, CancellationToken ct)
    {
        var system = node.System;
        var role = MegaFlowProxies.TrainerRole(system.Settings.Config);
        if (!Akka.Cluster.Cluster.Get(system).State.Members.Any(m => m.Status == MemberStatus.Up && m.HasRole(role)))
            throw new NoTrainerException($"no trainer node: no cluster member with the '{role}' role is up (start a node with MEGAFLOW_ROLES including {role})");
        try
        {
            return await ActorRegistry.For(system).Get<ActorKeys.Trainer>().Ask<T>(message, timeout, ct);
        }
        catch (AskTimeoutException)
        {
            throw new NoTrainerException($"the trainer singleton did not answer within {timeout.TotalSeconds:0.#} s (a trainer node is starting or handing over; try again)");
        }
    }

    private static async Task<byte[]> ReadBodyAsync(HttpRequest request, CancellationToken ct)
    {
        if (request.ContentLength > MaxSpecBytes)
            throw new BadHttpRequestException($"the experiment spec is larger than {MaxSpecBytes / 1024} KB");
        using var buffer = new MemoryStream();
        var chunk = new byte[8192];
        int n;
        while ((n = await request.Body.ReadAsync(chunk, ct)) > 0)
        {
            if (buffer.Length + n > MaxSpecBytes)
                throw new BadHttpRequestException($"the experiment spec is larger than {MaxSpecBytes / 1024} KB");
            buffer.Write(chunk, 0, n);
        }
        return buffer.ToArray();
    }
}

/// <summary>No trainer answers: none is up, or the singleton is moving. Answered 503 <c>no_trainer</c>.</summary>
public sealed class NoTrainerException(string message) : Exception(message);
