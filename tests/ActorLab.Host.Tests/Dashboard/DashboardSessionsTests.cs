using ActorLab.Actors.Gateway;
using ActorLab.Host.Dashboard;

namespace ActorLab.Host.Tests.Dashboard;

/// <summary>Dashboard sign-ins end when idle or old, and a flood of them is bounded (the least recently used goes).</summary>
public class DashboardSessionsTests
{
    static readonly OperatorToken Ann = new("ann", OperatorRole.Operator, new byte[32]);
    static readonly OperatorToken Bob = new("bob", OperatorRole.ReadOnly, new byte[32]);

    [Fact]
    public void A_session_lives_while_used_and_ends_when_idle_or_too_old()
    {
        var now = new DateTimeOffset(2026, 12, 3, 0, 0, 0, TimeSpan.Zero);
        var sessions = new DashboardSessions(TimeSpan.FromHours(12), TimeSpan.FromDays(7), clock: () => now);
        var id = sessions.Open(Ann);
        // used every 11 hours: alive until its seventh day ends
        for (var i = 0; i < 15; i++)
        {
            now += TimeSpan.FromHours(11);
            Assert.Equal(Ann, sessions.Of(id));
        }
        now += TimeSpan.FromHours(11); // 176 h: past 7 days
        Assert.Null(sessions.Of(id));
        Assert.Equal(0, sessions.Count);

        var idle = sessions.Open(Bob);
        now += TimeSpan.FromHours(12) + TimeSpan.FromSeconds(1);
        Assert.Null(sessions.Of(idle));
        Assert.Null(sessions.Of("not-a-session"));
        Assert.Null(sessions.Of(null));
    }

    [Fact]
    public void At_most_max_sessions_live_and_the_least_recently_used_ends_first()
    {
        var now = new DateTimeOffset(2026, 12, 3, 0, 0, 0, TimeSpan.Zero);
        var sessions = new DashboardSessions(maxSessions: 3, clock: () => now);
        var ids = new List<string>();
        for (var i = 0; i < 3; i++)
        {
            ids.Add(sessions.Open(Ann));
            now += TimeSpan.FromMinutes(1);
        }
        Assert.Equal(Ann, sessions.Of(ids[0])); // the oldest is used again: the second is now least recent
        now += TimeSpan.FromMinutes(1);
        var fourth = sessions.Open(Bob);
        Assert.Equal(3, sessions.Count);
        Assert.Null(sessions.Of(ids[1]));
        Assert.Equal(Ann, sessions.Of(ids[0]));
        Assert.Equal(Bob, sessions.Of(fourth));
        // an idle session is swept when someone signs in, whatever the count
        now += TimeSpan.FromHours(13);
        sessions.Open(Ann);
        Assert.Equal(1, sessions.Count);
    }
}
