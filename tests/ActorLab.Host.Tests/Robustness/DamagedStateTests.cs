using Xunit.Abstractions;

namespace ActorLab.Host.Tests.Robustness;

/// <summary>
/// Every kind of damaged state in <see cref="DamagedStates.All"/>, on a copy of a real sweep's data dir, then
/// `sweep run` again (the real executable): the sweep recovers with exactly the undamaged sweep's results, or is
/// refused with one `error:` line; where the refusal names a repair (`db repair`), the sweep recovers after it.
/// Never a hang, a stack trace, or exit 0 with results that differ.
/// </summary>
public class DamagedStateTests(ITestOutputHelper output)
{
    [Fact]
    public void Every_damaged_state_recovers_or_is_refused_with_a_message()
    {
        using var runner = new DamagedStateRunner();
        var results = DamagedStates.All.Select(runner.Run).ToList();
        output.WriteLine(DamagedStateRunner.Table(results));
        var bad = results.Where(r => r.Outcome is not (DamageOutcome.Recovered or DamageOutcome.Refused)
                                     || r.AfterRepair is { } a && a != DamageOutcome.Recovered).ToList();
        Assert.True(bad.Count == 0, "damaged states not handled:\n" + DamagedStateRunner.Table(bad));
        // the controls really are the undamaged results, so "recovered" means something
        Assert.All(results.Where(r => r.Damage.Area == "control"), r => Assert.Equal(DamageOutcome.Recovered, r.Outcome));
    }
}
