// A host program driving a MegaFlow cluster: connect, submit a dataset with replicas, stream
// progress, print the per-group results. Run a cluster first (README), then:
//   dotnet run --project samples/HostProgram -- --seeds akka.tcp://megaflow@127.0.0.1:4053 \
//       --dataset samples/datasets/sample-tasks.jsonl
using MegaFlow.Client;
using MegaFlow.Contracts.Results;
using MegaFlow.Contracts.Tasks;

var seeds = Arg("--seeds")?.Split(',', StringSplitOptions.RemoveEmptyEntries) ?? [];
var dataset = Arg("--dataset") ?? "samples/datasets/sample-tasks.jsonl";
var prefix = Arg("--prefix") ?? "";
if (seeds.Length == 0)
{
    Console.Error.WriteLine("usage: megaflow-host-sample --seeds akka.tcp://megaflow@host:port[,...] [--dataset FILE] [--prefix P]");
    return 2;
}

await using var client = await MegaFlowClient.ConnectAsync(new ClientOptions { Seeds = seeds, QueueBound = 1_000 });
Console.WriteLine($"connected to {string.Join(", ", seeds)}");

// Validate the whole file first; a file with errors submits nothing.
var read = MegaFlow.Datasets.DatasetReader.Read(dataset);
if (read.HasErrors)
{
    foreach (var e in read.Errors) Console.Error.WriteLine(e);
    return 1;
}
var specs = read.Specs.Select(s => s with { TaskId = prefix + s.TaskId }).ToList();
await client.SubmitBatchAsync(specs);
Console.WriteLine($"submitted {specs.Count} tasks from {dataset}");

var results = new List<TaskState>();
await foreach (var state in client.ResultsAsync(specs.Select(s => s.TaskId!)))
{
    results.Add(state);
    var outcome = state.Status == TaskStatus.Completed ? (state.Score!.Passed ? "passed" : "tests fail") : state.Status.ToString().ToLowerInvariant();
    Console.WriteLine($"[{results.Count,4}/{specs.Count}] {state.TaskId,-32} {outcome}");
}

Console.WriteLine();
Console.WriteLine($"{"group",-28} {"tasks",5} {"passed",6} {"infra",5} {"mean reward",11} {"pass@1",7} {"pass@k",7}");
foreach (var g in GroupStats.ByGroup(results, k: 4))
    Console.WriteLine($"{g.Key,-28} {g.Tasks,5} {g.Passed,6} {g.InfraFailed,5} {g.MeanReward,11:F2} {g.PassAt1,7:F2} {g.PassAtK,7:F2}");
foreach (var d in GroupStats.ByDataset(results, k: 4))
    Console.WriteLine($"dataset {d.Key}: {d.Tasks} tasks, {d.Passed} passed, mean reward {d.MeanReward:F2}" + (d.Model.Calls > 0 ? $"; model: {d.Model.Describe()}" : ""));
Console.WriteLine($"received {results.Count} of {specs.Count} results");
return results.Count == specs.Count ? 0 : 1;

string? Arg(string name)
{
    var i = Array.IndexOf(args, name);
    return i >= 0 && i + 1 < args.Length ? args[i + 1] : null;
}
