using Akka.Actor;
using Akka.TestKit.Xunit2;
using ActorLab.Actors.Data;
using ActorLab.Actors.Training;
using ActorLab.Model.Qa;

namespace ActorLab.Actors.Tests;

public class DataGeneratorTests : TestKit
{
    sealed class CountingSource(int[] made, TimeSpan delay, long failAt = -1) : IBatchSource
    {
        public TokenBatch Get(long index)
        {
            if (index == failAt) throw new IOException("disk gone");
            Thread.Sleep(delay);
            Interlocked.Increment(ref made[0]);
            return StandInBackend.Batch(1, index);
        }

        public void Dispose() { }
    }

    /// <summary>Creates the generator as a child of a probe-forwarding parent, so BatchReady reaches the test.</summary>
    IActorRef Generator(Props props) =>
        Sys.ActorOf(Props.Create(() => new Parent(props, TestActor)));

    sealed class Parent : ReceiveActor
    {
        public Parent(Props child, IActorRef forward)
        {
            var c = Context.ActorOf(child, "gen");
            ReceiveAny(m =>
            {
                if (Sender.Equals(c)) forward.Tell(m);
                else c.Forward(m);
            });
        }
    }

    [Fact]
    public void Batches_arrive_in_order_from_the_start_index_only_as_demanded()
    {
        var made = new int[1];
        var gen = Generator(DataGeneratorActor.Props(() => new CountingSource(made, TimeSpan.FromMilliseconds(5)), startIndex: 10, workers: 3, readAhead: 4));
        gen.Tell(new BatchRequest(5));
        var got = ReceiveN(5, TimeSpan.FromSeconds(5)).Cast<BatchReady>().ToList();
        Assert.Equal([10L, 11, 12, 13, 14], got.Select(b => b.Index));
        Assert.Equal(got.Select(b => StandInBackend.Batch(1, b.Index).Labels[1]), got.Select(b => b.Batch.Labels[1]));
        // no more demand: it fills its read-ahead (4) and then stops producing
        ExpectNoMsg(TimeSpan.FromMilliseconds(300));
        Assert.Equal(9, Volatile.Read(ref made[0]));
        gen.Tell(new BatchRequest(2));
        Assert.Equal([15L, 16], ReceiveN(2).Cast<BatchReady>().Select(b => b.Index));
    }

    [Fact]
    public void A_failing_source_is_reported_to_the_trainer()
    {
        var made = new int[1];
        var gen = Generator(DataGeneratorActor.Props(() => new CountingSource(made, TimeSpan.Zero, failAt: 2), 0, 2, 2));
        gen.Tell(new BatchRequest(5));
        var msgs = ReceiveWhile(TimeSpan.FromSeconds(3), m => m, 3);
        Assert.Contains(msgs, m => m is DataGeneratorActor.DataFailed f && f.Error.Contains("batch 2: disk gone"));
    }
}
