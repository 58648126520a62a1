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
using ActorLab.Model.Storage;

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
        var plan = TestSweeps.Plan();
        var submitted = (SweepSubmitted)RoundTrip(new SweepSubmitted(plan.Name, plan.ContentHash, plan.Datasets, plan.Runs));
        Assert.Equal(plan.ContentHash, submitted.ContentHash);
        Assert.Equal(plan.Runs.Select(r => r.RunId), submitted.Runs.Select(r => r.RunId));
        Assert.Equal(plan.Runs[0].EvalSchedule.Steps.ToArray(), submitted.Runs[0].EvalSchedule.Steps.ToArray());
        Assert.Equal(plan.Datasets[0], submitted.Datasets[0]);
        Assert.Equal(plan.Datasets[0].Id, submitted.Runs[0].Dataset!.Id);

        var leased = (RunLeased)RoundTrip(new RunLeased("s/r", 7, "node-1", [0, 1]));
        Assert.Equal(("s/r", 7L, "node-1"), (leased.RunId, leased.Epoch, leased.NodeId));
        Assert.Equal([0, 1], leased.Slots.ToArray());

        var failed = (RunAttemptFailed)RoundTrip(new RunAttemptFailed("s/r", 3, "n", "boom", new DateTimeOffset(2026, 1, 2, 3, 4, 5, TimeSpan.Zero)));
        Assert.Equal(new DateTimeOffset(2026, 1, 2, 3, 4, 5, TimeSpan.Zero), failed.RetryAt);
        Assert.Equal(StopKind.Suspend, ((RunStopRequested)RoundTrip(new RunStopRequested("s/r", 1, StopKind.Suspend))).Kind);
        Assert.Equal("sha", ((CheckpointRecorded)RoundTrip(new CheckpointRecorded("s/r", 2, 100, "sha", 1.5))).Sha256);
        Assert.Equal(JobKind.Probe, ((JobQueued)RoundTrip(new JobQueued("probe:s/r:1", JobKind.Probe, "s/r", new ProbeRequest("all", 10)))).Kind);
        Assert.IsType<GetStatus>(RoundTrip(new GetStatus()));
        Assert.Equal("pause me", ((CommandReply)RoundTrip(new CommandReply(true, "pause me"))).Message);
        Assert.Equal(double.NaN, ((RunProgress)RoundTrip(new RunProgress("r", 1, 2, double.NaN, 3))).Loss);
        var report = (CheckpointReport)RoundTrip(new CheckpointReport("s/r", 2, 10, "sha", 1) { Seq = 42 });
        Assert.Equal((42L, "s/r"), (report.Seq, report.Id));
    }

    [Fact]
    public void A_lease_travels_with_its_run_config_checkpoint_and_dataset_fingerprint()
    {
        var plan = TestSweeps.Plan();
        var start = new StartRun("s/r", 4, [1], plan.Runs[0], new CheckpointRef(100, 3, "abc"), new DatasetFingerprint("p", "t"));
        var back = (StartRun)RoundTrip(start);
        Assert.Equal(start.Config, back.Config);
        Assert.Equal(start.ResumeFrom, back.ResumeFrom);
        Assert.Equal(start.Dataset, back.Dataset);
        var job = new StartJob("measure:s", 9, [0], JobKind.Measure, new JobSpec
        {
            Sweep = "s", Runs = [new MeasuredRun("s/r", plan.Runs[0], 4, "sha")],
            Datasets = [new PreparedDatasetRecord(plan.Datasets[0], new DatasetFingerprint("p", "t"))],
        });
        var jobBack = (StartJob)RoundTrip(job);
        Assert.Equal("sha", jobBack.Spec.Runs.Single().ResultsSha256);
        Assert.Equal(plan.Datasets[0], jobBack.Spec.Datasets.Single().Config);
        Assert.Null(jobBack.Spec.Measure);
    }

    [Fact]
    public void Measure_settings_survive_the_journal_and_old_events_read_as_the_default()
    {
        var plan = TestSweeps.Plan();
        var measure = new Sweeps.SweepMeasure
        {
            Schemes = [Model.Capacity.CapacityScheme.TwoHopDouble], SelectionSchemes = [Model.Capacity.SelectionScheme.Independent],
            Subjectwise = true, Hops = [2.1],
        };
        var back = (SweepSubmitted)RoundTrip(new SweepSubmitted(plan.Name, plan.ContentHash, plan.Datasets, plan.Runs, measure));
        Assert.Equal(measure, back.Measure);
        var job = (StartJob)RoundTrip(new StartJob("measure:s", 9, [0], JobKind.Measure, new JobSpec { Sweep = "s", Measure = measure }));
        Assert.Equal(measure, job.Spec.Measure);
        var snapshot = ((CoordinatorSnapshot)RoundTrip(CoordinatorSnapshot.From(SweepState.Empty.Apply(back)))).ToState();
        Assert.Equal(measure, snapshot.Sweeps[plan.Name].Measure);

        // an event journalled before measure settings existed has no "measure" property
        var serializer = (ActorLabSerializer)Sys.Serialization.FindSerializerFor(back);
        var json = System.Text.Json.Nodes.JsonNode.Parse(serializer.ToBinary(back))!.AsObject();
        json.Remove("measure");
        var old = (SweepSubmitted)serializer.FromBinary(System.Text.Encoding.UTF8.GetBytes(json.ToJsonString()), MessageRegistry.ManifestOf(typeof(SweepSubmitted)));
        Assert.Null(old.Measure);
        Assert.Equal(plan.ContentHash, old.ContentHash);
    }

    [Fact]
    public void A_snapshot_restores_the_same_state()
    {
        var s = SweepState.Empty.ApplyAll(SweepState.Empty.Decide(new SubmitSweep(TestSweeps.Plan())).Events);
        s = s.Apply(new DatasetPrepared(s.Datasets.Keys.Single(), "p", "t"));
        s = s.ApplyAll(s.Decide(new ScheduleLeases([new SlotRef("n", 0), new SlotRef("n", 1)], DateTimeOffset.UnixEpoch)).Events);
        var back = ((CoordinatorSnapshot)RoundTrip(CoordinatorSnapshot.From(s))).ToState();
        Assert.Equal(s.LastEpoch, back.LastEpoch);
        Assert.Equal(s.Runs.Values.Select(r => (r.RunId, r.Status, r.Lease?.Epoch)), back.Runs.Values.Select(r => (r.RunId, r.Status, r.Lease?.Epoch)));
        Assert.Equal(s.Jobs.Values.Select(j => (j.JobId, j.Status)), back.Jobs.Values.Select(j => (j.JobId, j.Status)));
        Assert.True(back.Datasets.Values.Single().Prepared);
    }

    [Fact]
    public void A_format_1_journal_event_is_refused_with_a_message_that_says_so()
    {
        var serializer = (ActorLabSerializer)Sys.Serialization.FindSerializerForType(typeof(RunLeased));
        var e = Assert.Throws<SerializationException>(() => serializer.FromBinary("{}"u8.ToArray(), "sweep-submitted@1"));
        Assert.Contains("journal format 1", e.Message);
    }

    [Fact]
    public void Every_wire_type_is_registered_and_unknown_manifests_are_refused()
    {
        var wireTypes = typeof(IActorLabMessage).Assembly.GetTypes()
            .Where(t => typeof(IActorLabMessage).IsAssignableFrom(t) && !t.IsInterface && !t.IsAbstract);
        foreach (var t in wireTypes) Assert.NotNull(MessageRegistry.TypeOf(MessageRegistry.ManifestOf(t)));
        var serializer = (ActorLabSerializer)Sys.Serialization.FindSerializerForType(typeof(RunLeased));
        Assert.Throws<SerializationException>(() => serializer.FromBinary("{}"u8.ToArray(), "run-leased@99"));
        Assert.Throws<SerializationException>(() => serializer.FromBinary("not json"u8.ToArray(), "run-leased@2"));
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
