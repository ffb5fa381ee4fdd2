using TorchSharp;

// Two cores are shared with other builds and test runs: the tests run one at a time, and torch uses
// one intra-op thread (the policy is tiny; more threads mostly add synchronisation).
[assembly: CollectionBehavior(DisableTestParallelization = true)]

namespace MegaFlow.Training.Tests;

internal static class TestSetup
{
    private static readonly Lazy<bool> Once = new(() =>
    {
        torch.set_num_threads(1);
        return true;
    });

    public static void Torch() => _ = Once.Value;
}
