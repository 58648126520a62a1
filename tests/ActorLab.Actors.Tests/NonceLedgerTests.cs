using ActorLab.Actors.Gateway;

namespace ActorLab.Actors.Tests;

public class NonceLedgerTests
{
    static readonly DateTimeOffset Start = new(2026, 12, 3, 12, 0, 0, TimeSpan.Zero);

    [Fact]
    public void A_nonce_runs_once_and_nothing_signed_before_the_coordinator_started_runs()
    {
        var ledger = new NonceLedger(Start);
        var now = Start + TimeSpan.FromSeconds(5);
        var issued = (Start + TimeSpan.FromSeconds(4)).ToUnixTimeMilliseconds();
        Assert.Null(ledger.Admit("a", issued, now));
        Assert.Equal("the request was already used once (a replay)", ledger.Admit("a", issued, now));
        Assert.Null(ledger.Admit("b", issued, now));
        // a request signed before this coordinator started could have run at its predecessor
        var before = ledger.Admit("c", (Start - TimeSpan.FromSeconds(1)).ToUnixTimeMilliseconds(), now);
        Assert.Contains("signed before this coordinator started", before);
        Assert.Equal(2, ledger.Count);
    }

    [Fact]
    public void The_ledger_is_bounded_and_forgets_nonces_once_their_requests_are_stale()
    {
        var ledger = new NonceLedger(Start);
        var issued = Start.ToUnixTimeMilliseconds();
        for (var i = 0; i < NonceLedger.Capacity; i++) Assert.Null(ledger.Admit($"n{i}", issued, Start));
        Assert.Equal("too many signed requests in the last two minutes", ledger.Admit("one-more", issued, Start + TimeSpan.FromSeconds(10)));
        // two skews later every earlier request is stale: their nonces go, and a new one is admitted
        var later = Start + OperatorTokens.MaxSkew * 2 + TimeSpan.FromSeconds(1);
        Assert.Null(ledger.Admit("fresh", later.ToUnixTimeMilliseconds(), later));
        Assert.Equal(1, ledger.Count);
    }
}
