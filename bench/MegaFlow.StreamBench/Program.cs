using System.Diagnostics;
using System.Text.Json;
using System.Threading.Channels;
using Akka.Actor;
using Akka.Configuration;
using Akka.Streams;
using Akka.Streams.Dsl;
using MegaFlow.Bench;
using MegaFlow.Contracts.Training;
using MegaFlow.Protocol;

// Usage: MegaFlow.StreamBench [--seconds S]
// For each trajectory size, the same pre-built trajectories flow (a) through a bounded Channel<T>
// in one process (references only: no serialization, no hop), (b) the same with each trajectory
// serialized and deserialized by MegaFlow's serializer on the way (what the hop adds besides the
// network), and (c) from one actor system to another over remoting on loopback through a stream
// reference, as between nodes. The rows run in turn, twice; a row shows the median of its runs.
var seconds = args.Length == 2 && args[0] == "--seconds" ? double.Parse(args[1]) : 4.0;
Console.WriteLine(MachineInfo.Read());
Console.WriteLine($"load average at start: {MachineInfo.LoadAverage()}");

var config = ConfigurationFactory.ParseString("""
    akka.actor.provider = remote
    akka.remote.dot-netty.tcp.port = 0
    akka.loglevel = WARNING
    """).WithFallback(ConfigurationFactory.ParseString(ClusterConfig.BaseHocon));
using var producer = ActorSystem.Create("bench", config);
using var consumer = ActorSystem.Create("bench", config);
var provider = producer.ActorOf(Props.Create(() => new Provider()), "trajectories");
var producerAddress = ((ExtendedActorSystem)producer).Provider.DefaultAddress;
var remoteProvider = consumer.ActorSelection(new RootActorPath(producerAddress) / "user" / "trajectories");
var materializer = consumer.Materializer();

var table = new ResultTable("trajectory size", "path", "trajectories/s", "MB/s", "vs channel", "runs");
foreach (var kilobytes in new[] { 1, 64 })
{
    var sample = Sample(kilobytes);
    var bytes = JsonSerializer.SerializeToUtf8Bytes(sample).Length;
    var channelRates = new List<double>();
    var serializedRates = new List<double>();
    var hopRates = new List<double>();
    await Channel(sample, TimeSpan.FromSeconds(1), serialize: false); // warm-up
    await Channel(sample, TimeSpan.FromSeconds(1), serialize: true);
    await Hop(sample, TimeSpan.FromSeconds(1));
    for (var round = 0; round < 2; round++)
    {
        channelRates.Add(await Channel(sample, TimeSpan.FromSeconds(seconds), serialize: false));
        serializedRates.Add(await Channel(sample, TimeSpan.FromSeconds(seconds), serialize: true));
        hopRates.Add(await Hop(sample, TimeSpan.FromSeconds(seconds)));
    }
    var channel = Median(channelRates);
    var serialized = Median(serializedRates);
    var hop = Median(hopRates);
    string Runs(List<double> rates) => string.Join(" / ", rates.Select(r => r.ToString("F0")));
    table.Add($"{bytes / 1024.0:F1} KiB", "Channel<T>, one process", $"{channel:F0}", "(references)", "1.00x", Runs(channelRates));
    table.Add("", "Channel<T> + serializer round trip", $"{serialized:F0}", $"{serialized * bytes / 1e6:F1}", $"{serialized / channel:F4}x", Runs(serializedRates));
    table.Add("", "stream ref, node hop", $"{hop:F0}", $"{hop * bytes / 1e6:F1}", $"{hop / channel:F4}x", Runs(hopRates));
    Console.WriteLine($"{kilobytes} KiB: channel {channel:F0}/s, with serialization {serialized:F0}/s, node hop {hop:F0}/s");
}
Console.WriteLine();
Console.WriteLine(table.Render());
Console.WriteLine($"load average at end: {MachineInfo.LoadAverage()}");
await producer.Terminate();
await consumer.Terminate();
return;

// A trajectory of about `kilobytes` KiB as JSON: turns of 64 response tokens with log-probs under a prompt.
static Trajectory Sample(int kilobytes)
{
    var turns = new List<TrajectoryTurn>();
    while (JsonSerializer.SerializeToUtf8Bytes(new Trajectory("bench-task", 1, "g", 0, "completed", 1, null, turns, 1)).Length < kilobytes * 1024)
        turns.Add(new TrajectoryTurn(turns.Count + 1, 3, Enumerable.Range(0, 24).ToArray(), Enumerable.Range(100, 8).ToArray(), Enumerable.Range(0, 8).Select(i => -0.1 * i - 0.123456).ToArray(), 200));
    return new Trajectory("bench-task", 1, "g", 0, "completed", 1, null, turns, 1);
}

async Task<double> Channel(Trajectory sample, TimeSpan duration, bool serialize)
{
    // MegaFlow's serializer, as remoting uses it for a trajectory between nodes.
    var serializer = (Akka.Serialization.SerializerWithStringManifest)producer.Serialization.FindSerializerFor(sample);
    var manifest = serializer.Manifest(sample);
    // Bounded like the stream reference's buffer (32), so the producer waits on the reader as it would.
    var channel = System.Threading.Channels.Channel.CreateBounded<Trajectory>(32);
    using var stop = new CancellationTokenSource(duration);
    var produce = Task.Run(async () =>
    {
        try
        {
            while (true) await channel.Writer.WriteAsync(sample with { Position = 0 }, stop.Token);
        }
        catch (OperationCanceledException)
        {
            channel.Writer.Complete();
        }
    });
    var clock = Stopwatch.StartNew();
    long count = 0;
    await foreach (var t in channel.Reader.ReadAllAsync())
    {
        if (serialize && serializer.FromBinary(serializer.ToBinary(t), manifest) is not Trajectory) throw new InvalidOperationException("round trip lost the trajectory");
        count++;
    }
    await produce;
    return count / clock.Elapsed.TotalSeconds;
}

async Task<double> Hop(Trajectory sample, TimeSpan duration)
{
    var source = await remoteProvider.Ask<ISourceRef<Trajectory>>(new Request(sample), TimeSpan.FromSeconds(10));
    var clock = Stopwatch.StartNew();
    var count = await source.Source
        .TakeWithin(duration)
        .RunWith(Sink.Aggregate<Trajectory, long>(0L, (n, _) => n + 1), materializer);
    return count / clock.Elapsed.TotalSeconds;
}

static double Median(List<double> values) => values.Order().ElementAt(values.Count / 2);

/// <summary>The request: which trajectory to repeat. Sent within the bench's two systems; its payload is the trajectory itself.</summary>
internal sealed record Request(Trajectory Sample);

/// <summary>The producing node: a stream ref over an endless repetition of the sample (the journal query is not measured here).</summary>
internal sealed class Provider : ReceiveActor
{
    public Provider()
    {
        var materializer = Context.Materializer();
        Receive<Request>(r => Source.Repeat(r.Sample).RunWith(StreamRefs.SourceRef<Trajectory>(), materializer).PipeTo(Sender));
    }
}
