using System.Collections.Immutable;
using System.Runtime.Serialization;
using Akka.Actor;
using Akka.Configuration;
using Akka.Serialization;
using Akka.TestKit.Xunit2;
using ActorLab.Actors.Config;
using ActorLab.Actors.Control;
using ActorLab.Actors.Coordinator;
using ActorLab.Actors.Node;
using ActorLab.Actors.Serialization;
using ActorLab.Actors.Training;
using ActorLab.Model.Qa;

namespace ActorLab.Actors.Tests;

public class SerializerTests() : TestKit(ActorLabConfig.Build(Path.Combine(Path.GetTempPath(), "actorlab-ser-" + Guid.NewGuid().ToString("N")[..6])))
{
    object RoundTrip(object message)
    {
        var serialization = Sys.Serialization;
        var serializer = serialization.FindSerializerFor(message);
        Assert.IsType<ActorLabSerializer>(serializer);
        var manifest = Akka.Serialization.Serialization.ManifestFor(serializer, message);
        var bytes = serializer.ToBinary(message);
        return serialization.Deserialize(bytes, serializer.Identifier, manifest);
    }

    [Fact]
    public void Events_commands_and_replies_round_trip_through_the_configured_serializer()
    {
        var spec = TestSweeps.Spec();
        var submitted = (SweepSubmitted)RoundTrip(new SweepSubmitted(spec));
        Assert.Equal(spec.ContentHash, submitted.Spec.ContentHash);
        Assert.Equal(spec.Runs.Select(r => r.RunId), submitted.Spec.Runs.Select(r => r.RunId));
        Assert.Equal(spec.Training.EvalSteps.ToArray(), submitted.Spec.Training.EvalSteps.ToArray());
        Assert.Equal(spec.Runs[0], submitted.Spec.Runs[0]);

        var leased = (RunLeased)RoundTrip(new RunLeased("s/r", 7, "node-1", [0, 1]));
        Assert.Equal(("s/r", 7L, "node-1"), (leased.RunId, leased.Epoch, leased.NodeId));
        Assert.Equal([0, 1], leased.Slots.ToArray());

        var failed = (RunAttemptFailed)RoundTrip(new RunAttemptFailed("s/r", 3, "boom", new DateTimeOffset(2026, 1, 2, 3, 4, 5, TimeSpan.Zero)));
        Assert.Equal(new DateTimeOffset(2026, 1, 2, 3, 4, 5, TimeSpan.Zero), failed.RetryAt);
        Assert.Equal(StopKind.Suspend, ((RunStopRequested)RoundTrip(new RunStopRequested("s/r", 1, StopKind.Suspend))).Kind);
        Assert.Null(((CapacityMeasured)RoundTrip(new CapacityMeasured("s", "/d", null))).Error);
        Assert.IsType<GetStatus>(RoundTrip(new GetStatus()));
        Assert.Equal("pause me", ((CommandReply)RoundTrip(new CommandReply(true, "pause me"))).Message);
        Assert.Equal(double.NaN, ((RunProgress)RoundTrip(new RunProgress("r", 1, 2, double.NaN, 3))).Loss);
    }

    [Fact]
    public void Actor_refs_and_token_batches_survive_the_trip()
    {
        var probe = CreateTestProbe();
        var spec = TestSweeps.Spec();
        var start = new StartRun("s/r", 4, [1], spec.Runs[0], spec.Training, 0.1, spec.Datasets[0], "/p", "/t", "/run", probe.Ref);
        var back = (StartRun)RoundTrip(start);
        Assert.Equal(probe.Ref, back.Coordinator);
        back.Coordinator.Tell("hello");
        probe.ExpectMsg("hello");

        var batch = new TokenBatch(1, 3, [1, 2, 3], [TokenBatch.Ignore, 2, 3], [new QuestionInfo(0, 1, 3, 2, 5, EvalMode.TrainTwohop, false)]);
        var ready = (BatchReady)RoundTrip(new BatchReady(9, batch));
        Assert.Equal(9, ready.Index);
        Assert.Equal(batch.InputIds, ready.Batch.InputIds);
        Assert.Equal(batch.Labels, ready.Batch.Labels);
        Assert.Equal(batch.Questions, ready.Batch.Questions);
    }

    [Fact]
    public void A_snapshot_restores_the_same_state()
    {
        var s = SweepState.Empty.ApplyAll(SweepState.Empty.Decide(new SubmitSweep(TestSweeps.Spec())).Events);
        s = s.Apply(new DatasetPrepared(s.Datasets.Keys.Single(), "/p", "/t"));
        s = s.ApplyAll(s.Decide(new ScheduleRuns([new SlotRef("n", 0)], DateTimeOffset.UnixEpoch)).Events);
        var back = ((CoordinatorSnapshot)RoundTrip(CoordinatorSnapshot.From(s))).ToState();
        Assert.Equal(s.LastEpoch, back.LastEpoch);
        Assert.Equal(s.Runs.Values.Select(r => (r.Spec.RunId, r.Status, r.Lease?.Epoch)), back.Runs.Values.Select(r => (r.Spec.RunId, r.Status, r.Lease?.Epoch)));
        Assert.True(back.Datasets.Values.Single().Prepared);
    }

    [Fact]
    public void Every_wire_type_is_registered_and_unknown_manifests_are_refused()
    {
        var wireTypes = typeof(IActorLabMessage).Assembly.GetTypes()
            .Where(t => typeof(IActorLabMessage).IsAssignableFrom(t) && !t.IsInterface && !t.IsAbstract);
        foreach (var t in wireTypes) Assert.NotNull(MessageRegistry.TypeOf(MessageRegistry.ManifestOf(t)));
        var serializer = (ActorLabSerializer)Sys.Serialization.FindSerializerForType(typeof(RunLeased));
        Assert.Throws<SerializationException>(() => serializer.FromBinary("{}"u8.ToArray(), "run-leased@99"));
        Assert.Throws<SerializationException>(() => serializer.FromBinary("not json"u8.ToArray(), "run-leased@1"));
    }
}

/// <summary>A message from a peer that speaks a version this node does not know.</summary>
public sealed record FromTheFuture(string Payload);

/// <summary>Stands in for a newer peer's serializer: same id as ours, a manifest ours has never heard of.</summary>
public sealed class FutureSerializer(ExtendedActorSystem system) : SerializerWithStringManifest(system)
{
    public override int Identifier => 7301;
    public override string Manifest(object o) => "from-the-future@1";
    public override byte[] ToBinary(object obj) => System.Text.Encoding.UTF8.GetBytes(((FromTheFuture)obj).Payload);
    public override object FromBinary(byte[] bytes, string manifest) => new FromTheFuture(System.Text.Encoding.UTF8.GetString(bytes));
}

public class UndeserializableMessageTests
{
    [Fact]
    public async Task A_message_the_node_cannot_read_is_dropped_and_the_connection_carries_on()
    {
        using var dir = new TempDir();
        var remote = ConfigurationFactory.ParseString("""
            akka.actor.provider = remote
            akka.remote.dot-netty.tcp.port = 0
            akka.loglevel = ERROR
            """);
        using var node = ActorSystem.Create("node", remote.WithFallback(ActorLabConfig.Build(dir.Path)));
        var sender = ActorSystem.Create("sender", ConfigurationFactory.ParseString("""
            akka.actor.serializers.future = "ActorLab.Actors.Tests.FutureSerializer, ActorLab.Actors.Tests"
            akka.actor.serialization-bindings { "ActorLab.Actors.Tests.FromTheFuture, ActorLab.Actors.Tests" = future }
            """).WithFallback(remote).WithFallback(ActorLabConfig.Build(dir.Path)));
        try
        {
            var received = new TaskCompletionSource<object>();
            var echo = node.ActorOf(Props.Create(() => new Collector(received)), "inbox");
            var address = ((ExtendedActorSystem)node).Provider.DefaultAddress;
            var target = await sender.ActorSelection(new RootActorPath(address) / "user" / "inbox").ResolveOne(TimeSpan.FromSeconds(10));

            target.Tell(new FromTheFuture("??"));
            target.Tell(new CommandReply(true, "still here"));
            var got = await received.Task.WaitAsync(TimeSpan.FromSeconds(10));
            // the unreadable message never arrived; the next one did, over the same association
            var reply = Assert.IsType<CommandReply>(got);
            Assert.Equal("still here", reply.Message);
            Assert.False(node.WhenTerminated.IsCompleted);
        }
        finally
        {
            await sender.Terminate();
        }
    }

    sealed class Collector : ReceiveActor
    {
        public Collector(TaskCompletionSource<object> first) => ReceiveAny(m => first.TrySetResult(m));
    }
}
