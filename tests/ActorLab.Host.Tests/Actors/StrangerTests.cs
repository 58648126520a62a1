using Akka.Actor;
using Akka.Configuration;
using ActorLab.Actors.Control;
using ActorLab.Actors.Coordinator;
using ActorLab.Actors.Serialization;
using ActorLab.Host.Tests.Infrastructure;

namespace ActorLab.Host.Tests.Actors;

/// <summary>
/// A process that reached the remoting port but is not a cluster member sends the coordinator internal messages
/// built from ActorLab's own assemblies (a forged plan, a completion of a running run at a step it never reached, a
/// node registration, a sweep verb): each is refused and the journal does not change.
/// </summary>
public class StrangerTests
{
    [Fact]
    public async Task Internal_messages_from_a_process_that_is_not_a_member_change_nothing()
    {
        using var dir = new TempDir();
        await using var n = InProcessNode.Start(dir.Path, TestJournal.Of("sqlite"), stepTime: TimeSpan.FromMilliseconds(30));
        var sweep = ActorLab.Actors.Sweeps.SweepPlanner.Plan(ActorLab.Actors.Sweeps.SweepFile.Parse(RuntimeSweep, "t"));
        Assert.True((await n.Ask<CommandReply>(new SubmitSweepFile("s.conf", RuntimeSweep))).Ok);
        await n.WaitForRuns(r => r.Runs.Any(x => x.State == "running"));
        var running = (await n.Runs()).Runs.First(x => x.State == "running");
        var before = await n.Ask<StatusReply>(new GetStatus());

        var address = n.Node.Address;
        using var stranger = ActorSystem.Create("actorlab", ConfigurationFactory.ParseString("""
            akka.actor.provider = remote
            akka.remote.dot-netty.tcp { hostname = 127.0.0.1, port = 0 }
            akka.loglevel = WARNING
            """).WithFallback(ActorLabSerializerConfig()));
        var coordinator = stranger.ActorSelection($"{address}/user/coordinator-singleton/coordinator/coordinator");
        object[] forged =
        [
            new SubmitSweep(sweep with { Name = "evil", Runs = [.. sweep.Runs.Select(r => r with { Sweep = "evil" })] }),
            new ReportRunCompleted(running.RunId, 1, running.Node ?? "", 999_999, "forged", null),
            new CancelSweep(null),
        ];
        foreach (var m in forged)
        {
            // internal commands that never cross the wire have no ActorLab serializer: the stranger's Akka sends them
            // in its reflection-based JSON, which the node refuses to read (no reply); the rest are read and refused
            if (m is not IActorLabMessage)
            {
                await Assert.ThrowsAsync<AskTimeoutException>(() => coordinator.Ask<CommandReply>(m, TimeSpan.FromSeconds(3)));
                continue;
            }
            var reply = await coordinator.Ask<CommandReply>(m, TimeSpan.FromSeconds(10));
            Assert.False(reply.Ok);
            Assert.Contains("not a member", reply.Message);
        }
        var after = await n.Ask<StatusReply>(new GetStatus());
        Assert.Equal(before.Sweeps.Select(s => s.Name), after.Sweeps.Select(s => s.Name));
        Assert.Equal(0, after.Sweeps.Single().Cancelled);
        Assert.NotEqual("completed", (await n.Runs()).Runs.Single(r => r.RunId == running.RunId).State);
        await stranger.Terminate();
    }

    /// <summary>
    /// A stranger speaking Akka's default, reflection-based JSON (whose payload names the CLR type to build) sends a
    /// type with a side effect in its setter: the node never builds it (its serializer 1 refuses every payload), and
    /// goes on serving. Akka's default would construct any type the payload names: a gadget chain away from code
    /// execution.
    /// </summary>
    [Fact]
    public async Task A_payload_in_Akkas_default_json_is_never_deserialized()
    {
        using var dir = new TempDir();
        await using var n = InProcessNode.Start(dir.Path, TestJournal.Of("sqlite"));
        await n.Ask<StatusReply>(new GetStatus());
        using var stranger = ActorSystem.Create("actorlab", ConfigurationFactory.ParseString("""
            akka.actor.provider = remote
            akka.remote.dot-netty.tcp { hostname = 127.0.0.1, port = 0 }
            akka.loglevel = OFF
            """));
        var gadget = new Gadget { Command = "rm -rf /" };
        Interlocked.Exchange(ref Gadget.Built, 0);
        foreach (var path in new[] { "/user/coordinator-singleton/coordinator/coordinator", "/system/receptionist", "/user/gateway" })
            stranger.ActorSelection($"{n.Node.Address}{path}").Tell(gadget);
        await Task.Delay(TimeSpan.FromSeconds(3));
        Assert.Equal(0, Volatile.Read(ref Gadget.Built));
        // the node goes on answering
        Assert.NotNull(await n.Ask<StatusReply>(new GetStatus()));
        await stranger.Terminate();
    }

    /// <summary>Counts the times anything built one through its setter (the deserializer would).</summary>
    public sealed class Gadget
    {
        public static int Built;
        string _command = "";
        public string Command { get => _command; set { _command = value; Interlocked.Increment(ref Built); } }
    }

    static Config ActorLabSerializerConfig() => ConfigurationFactory.ParseString("""
        akka.actor.serializers.actorlab = "ActorLab.Actors.Serialization.ActorLabSerializer, ActorLab.Actors"
        akka.actor.serialization-bindings { "ActorLab.Actors.Serialization.IActorLabMessage, ActorLab.Actors" = actorlab }
        akka.actor.serialization-identifiers { "ActorLab.Actors.Serialization.ActorLabSerializer, ActorLab.Actors" = 7301 }
        """);

    const string RuntimeSweep = """
        sweep {
          name = guarded
          grid { layers = [1], param-budgets = [330000, 340000], relations = [2], n-profiles = [20], orders = [[1]] }
          vocab-size = 400
          batch-size = 4
          seq-len = 64
          max-steps = 2000
          eval.steps = [2000]
          checkpoint.every = 5
        }
        """;
}
