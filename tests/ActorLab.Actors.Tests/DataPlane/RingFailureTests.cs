using System.Diagnostics;
using ActorLab.Actors.DataPlane;
using ActorLab.Actors.Training;

namespace ActorLab.Actors.Tests.DataPlane;

public class RingFailureTests
{
    static readonly TimeSpan Deadline = TimeSpan.FromSeconds(3);

    /// <summary>Members 0..W-2 all-reduce while the last one is failed by <paramref name="fail"/>; each must throw within 2x the deadline.</summary>
    static async Task<RingAbortedException[]> TheOthersAbort(TestRing ring, Action fail)
    {
        var w = ring.Members.Length;
        var buffers = TestRing.RandomBuffers(w, 2_000_000, seed: 5);
        var sw = Stopwatch.StartNew();
        var calls = Enumerable.Range(0, w - 1).Select(r => TestRing.OnThread(() =>
        {
            try
            {
                ring.Members[r].AllReduceSum(buffers[r], buffers[r].Length, default, Deadline);
                return null;
            }
            catch (RingAbortedException e) { return e; }
        })).ToArray();
        await Task.Delay(300);
        fail();
        var errors = await Task.WhenAll(calls).WaitAsync(Deadline * 3);
        Assert.True(sw.Elapsed < Deadline * 2, $"took {sw.Elapsed}");
        Assert.All(errors, Assert.NotNull);
        return errors!;
    }

    [Fact(Timeout = 30_000)]
    public async Task A_member_that_closes_its_connection_mid_step_makes_the_others_abort_fast()
    {
        using var ring = await TestRing.Start(3);
        var errors = await TheOthersAbort(ring, () => ring.Members[2].Dispose());
        Assert.Contains("ring rank 2 (node node-C) closed the connection", errors[0].Message);
        // a ring failure is a group abort to the trainer
        Assert.IsAssignableFrom<RunGroupAbortedException>(errors[1]);
    }

    [Fact(Timeout = 30_000)]
    public async Task A_member_whose_listener_stops_mid_step_makes_the_others_abort_fast()
    {
        using var ring = await TestRing.Start(4);
        var errors = await TheOthersAbort(ring, () => ring.Listeners[3].Dispose());
        Assert.Contains("node-D", errors[0].Message);
        var e = Assert.Throws<RingAbortedException>(() => ring.Members[3].AllReduceSum(new float[1], 1, default, Deadline));
        Assert.Contains("listener of this node stopped", e.Message);
    }

    [Fact(Timeout = 30_000)]
    public async Task A_silent_member_fails_the_others_at_their_deadline()
    {
        using var ring = await TestRing.Start(2);
        var sw = Stopwatch.StartNew();
        var e = await Assert.ThrowsAsync<RingAbortedException>(() =>
            TestRing.OnThread(() => ring.Members[0].AllReduceSum(new float[1000], 1000, default, TimeSpan.FromSeconds(1))));
        Assert.InRange(sw.Elapsed, TimeSpan.FromSeconds(0.9), TimeSpan.FromSeconds(2));
        Assert.Contains("no data from ring rank 1 (node node-B) within 1 s", e.Message);
        // and the silent one, arriving late, finds the ring broken instead of waiting
        sw.Restart();
        Assert.Throws<RingAbortedException>(() => ring.Members[1].AllReduceSum(new float[1000], 1000, default, TimeSpan.FromSeconds(10)));
        Assert.True(sw.Elapsed < TimeSpan.FromSeconds(5));
    }

    [Fact(Timeout = 30_000)]
    public async Task Abort_from_another_thread_releases_a_member_blocked_in_the_all_reduce()
    {
        using var ring = await TestRing.Start(3);
        var blocked = TestRing.OnThread(() => ring.Members[0].AllReduceSum(new float[100], 100, default, TimeSpan.FromSeconds(60)));
        await Task.Delay(200);
        Assert.False(blocked.IsCompleted);
        var sw = Stopwatch.StartNew();
        ring.Members[0].Abort("rank 3 failed: out of memory");
        var e = await Assert.ThrowsAsync<RingAbortedException>(() => blocked.WaitAsync(TimeSpan.FromSeconds(10)));
        Assert.True(sw.Elapsed < TimeSpan.FromSeconds(2), $"took {sw.Elapsed}");
        Assert.Equal("rank 3 failed: out of memory", e.Message);
        Assert.Equal("rank 3 failed: out of memory", ring.Members[0].Failure);
    }

    [Fact(Timeout = 30_000)]
    public async Task Members_that_disagree_on_the_count_fail_instead_of_mixing_buffers()
    {
        using var ring = await TestRing.Start(2);
        var calls = new[] { 100, 200 }.Select((n, r) => TestRing.OnThread(() =>
        {
            try { ring.Members[r].AllReduceSum(new float[n], n, default, Deadline); return null; }
            catch (RingAbortedException e) { return e.Message; }
        }));
        var errors = await Task.WhenAll(calls).WaitAsync(TimeSpan.FromSeconds(10));
        Assert.All(errors, m => Assert.NotNull(m));
        Assert.Contains(errors, m => m!.Contains("all-reduces 200 values, this node 100") || m.Contains("all-reduces 100 values, this node 200"));
    }
}
