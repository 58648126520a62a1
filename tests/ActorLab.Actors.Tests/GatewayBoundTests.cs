using ActorLab.Actors.Control;
using ActorLab.Actors.Gateway;
using Akka.Actor;
using Akka.Configuration;
using Akka.TestKit.Xunit2;

namespace ActorLab.Actors.Tests;

/// <summary>The gateway's bound on in-flight asks (actorlab.gateway.max-in-flight), against a coordinator that never answers.</summary>
public class GatewayBoundTests() : TestKit(ConfigurationFactory.ParseString("""
    akka.actor.provider = cluster
    akka.remote.dot-netty.tcp { hostname = "127.0.0.1", port = 0 }
    akka.loglevel = WARNING
    """))
{
    [Fact]
    public void A_gateway_whose_coordinator_never_answers_refuses_command_max_in_flight_plus_one_at_once()
    {
        const int max = 3;
        var coordinator = CreateTestProbe();
        var gateway = Sys.ActorOf(ConsoleGateway.Props(coordinator.Ref, new GatewaySettings(TimeSpan.FromMinutes(5), TimeSpan.FromMinutes(5), MaxInFlight: max)));
        var asks = new List<IActorRef>();
        for (var i = 0; i < max; i++)
        {
            gateway.Tell(i % 2 == 0 ? new GetStatus() : new GetRuns(null));
            coordinator.ExpectMsg<object>(TimeSpan.FromSeconds(5));
            asks.Add(coordinator.LastSender);
        }

        // the next ones are refused at once (the asks above wait five minutes), and never reach the coordinator
        for (var i = 0; i < 50; i++)
        {
            gateway.Tell(new GetRuns(null));
            var refused = ExpectMsg<Refused>(TimeSpan.FromSeconds(5));
            Assert.Contains($"is busy: {max} commands waiting for the coordinator", refused.Message);
            Assert.Contains("try again", refused.Message);
        }
        coordinator.ExpectNoMsg(TimeSpan.FromMilliseconds(200));

        // a watch is answered by the gateway itself: not bounded
        gateway.Tell(new Watch(1));
        ExpectMsg<WatchAck>(TimeSpan.FromSeconds(5));

        // one answer frees one place: the next command is forwarded again
        gateway.Tell(new GetStatus());
        ExpectMsg<Refused>(TimeSpan.FromSeconds(5));
        asks[1].Tell(new RunsReply([], 0, 0)); // the answer to the second ask (a GetRuns)
        ExpectMsg<RunsReply>(TimeSpan.FromSeconds(5));
        gateway.Tell(new GetStatus());
        coordinator.ExpectMsg<GetStatus>(TimeSpan.FromSeconds(5));
        gateway.Tell(new GetStatus());
        ExpectMsg<Refused>(TimeSpan.FromSeconds(5));
    }

    [Fact]
    public void Asks_that_time_out_free_their_places()
    {
        var coordinator = CreateTestProbe();
        var gateway = Sys.ActorOf(ConsoleGateway.Props(coordinator.Ref, new GatewaySettings(TimeSpan.FromMilliseconds(300), TimeSpan.FromMinutes(5), MaxInFlight: 1)));
        gateway.Tell(new GetStatus());
        gateway.Tell(new GetStatus());
        ExpectMsg<Refused>(TimeSpan.FromSeconds(5));
        ExpectMsg<NoCoordinator>(TimeSpan.FromSeconds(5));
        gateway.Tell(new GetStatus());
        ExpectMsg<NoCoordinator>(TimeSpan.FromSeconds(5));
    }

    [Fact]
    public void Refusals_are_logged_at_most_once_per_interval_with_their_count()
    {
        var b = new InFlightBound(1);
        var t0 = DateTimeOffset.UnixEpoch;
        Assert.True(b.TryTake());
        Assert.False(b.TryTake());
        Assert.Equal(1, b.RefusalsToLog(t0));
        for (var i = 0; i < 1000; i++) Assert.False(b.TryTake());
        Assert.Equal(0, b.RefusalsToLog(t0 + TimeSpan.FromSeconds(1)));
        Assert.Equal(1000, b.RefusalsToLog(t0 + InFlightBound.LogEvery));
        Assert.Equal(1001, b.Refused);
        b.Release();
        Assert.True(b.TryTake());
        Assert.Throws<ArgumentOutOfRangeException>(() => new InFlightBound(0));
    }
}
