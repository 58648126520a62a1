using ActorLab.Host.Tests.Infrastructure;

namespace ActorLab.Host.Tests.Robustness;

public sealed class BadInputFixture : IDisposable
{
    public BadInputSandbox Sandbox { get; } = new();
    public void Dispose() => Sandbox.Dispose();
}

/// <summary>
/// Every bad invocation of <see cref="BadInvocations"/> against the real CLI: exit 2, exactly one `error:` line that
/// names the culprit, no stack trace, no hang, and nothing in the sandbox created or changed.
/// </summary>
[Collection(CliCollection.Name)]
public class BadInputSuiteTests(BadInputFixture fx) : IClassFixture<BadInputFixture>
{
    public static IEnumerable<object[]> Cases => BadInvocations.All.Select((c, i) => new object[] { i, c.ToString() });

    [SkippableTheory]
    [MemberData(nameof(Cases))]
    public void Bad_invocation_gets_one_clean_error(int index, string name)
    {
        var c = BadInvocations.All[index];
        Assert.Equal(name, c.ToString());
        var r = BadInputRunner.Run(c, fx.Sandbox, TimeSpan.FromSeconds(60));
        Skip.If(r.Outcome == BadInputOutcome.Skipped, r.Why);
        Assert.True(r.Outcome == BadInputOutcome.CleanError, r.ToString());
    }

    [Fact]
    public void The_suite_covers_every_command_with_many_cases()
    {
        var commands = BadInvocations.All.Select(c => c.Command).Distinct().ToList();
        Assert.Equal(22, commands.Count); // the 21 commands and the bare `actorlab`
        Assert.True(BadInvocations.All.Count >= 200, $"{BadInvocations.All.Count} cases");
        Assert.Equal(BadInvocations.All.Count, BadInvocations.All.Select(c => c.ToString()).Distinct().Count());
    }
}
