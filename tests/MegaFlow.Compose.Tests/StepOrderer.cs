using Xunit.Abstractions;
using Xunit.Sdk;

namespace MegaFlow.Compose.Tests;

/// <summary>The position of a test in a class whose tests share one expensive fixture (a compose cluster)
/// and whose last test tears it down: xunit's own order is unspecified.</summary>
[AttributeUsage(AttributeTargets.Method)]
public sealed class StepAttribute(int number) : Attribute
{
    public int Number { get; } = number;
}

public sealed class StepOrderer : ITestCaseOrderer
{
    public const string Name = "MegaFlow.Compose.Tests.StepOrderer";
    public const string Assembly = "MegaFlow.Compose.Tests";

    public IEnumerable<TTestCase> OrderTestCases<TTestCase>(IEnumerable<TTestCase> testCases) where TTestCase : ITestCase =>
        testCases.OrderBy(t => t.TestMethod.Method.GetCustomAttributes(typeof(StepAttribute).AssemblyQualifiedName)
            .Select(a => (int)a.GetConstructorArguments().First())
            .DefaultIfEmpty(int.MaxValue).First());
}
