using ActorLab.Actors.Training;
using ActorLab.Model.Training;

namespace ActorLab.Actors.Tests;

public class RunGroupTests
{
    [Fact]
    public async Task All_ranks_get_the_mean_of_their_buffers_every_step()
    {
        using var group = new RunGroup("r", 1, 3);
        var results = new float[3][];
        await Task.WhenAll(Enumerable.Range(0, 3).Select(rank => Task.Run(() =>
        {
            for (var step = 0; step < 50; step++)
            {
                var buf = new[] { rank + step, 10f * rank };
                group.AllReduceMean(rank, [buf]);
                Assert.Equal(1 + step, buf[0], 5);
                Assert.Equal(10f, buf[1], 5);
                results[rank] = buf;
            }
        })));
        Assert.All(results, r => Assert.Equal(results[0], r));
    }

    [Fact]
    public async Task A_ranks_view_averages_gradient_tensors_of_several_shapes_in_place_step_after_step()
    {
        using var group = new RunGroup("r", 1, 2);
        var views = new[] { group.ForRank(0), group.ForRank(1) };
        await Task.WhenAll(Enumerable.Range(0, 2).Select(rank => Task.Run(() =>
        {
            for (var step = 0; step < 3; step++)
            {
                // as in TrainerCore.TrainStep: each step in a dispose scope of its own
                using var scope = TorchSharp.torch.NewDisposeScope();
                using var a = TorchSharp.torch.full(new long[] { 2, 3 }, (float)(rank + step), TorchSharp.torch.ScalarType.Float32);
                using var b = TorchSharp.torch.full(new long[] { 4 }, 10f * rank, TorchSharp.torch.ScalarType.Float32);
                views[rank].AllReduce([a, b]);
                Assert.Equal([2L, 3L], a.shape);
                Assert.All(a.data<float>().ToArray(), x => Assert.Equal(0.5f + step, x));
                Assert.All(b.data<float>().ToArray(), x => Assert.Equal(5f, x));
            }
        })));
    }

    [Fact]
    public async Task A_stop_asked_of_one_rank_is_agreed_by_all_at_the_same_step()
    {
        using var group = new RunGroup("r", 1, 2);
        var stoppedAt = new long[2];
        await Task.WhenAll(Enumerable.Range(0, 2).Select(rank => Task.Run(() =>
        {
            for (long step = 1; ; step++)
            {
                if (rank == 1 && step == 7) group.RequestStop(RunStop.Suspend);
                Thread.Sleep(rank); // ranks run at different speeds
                group.AllReduceMean(rank, [new float[] { 1 }]);
                if (group.AgreedStop is var stop and not RunStop.None)
                {
                    Assert.Equal(RunStop.Suspend, stop);
                    stoppedAt[rank] = step;
                    return;
                }
            }
        })));
        Assert.Equal(stoppedAt[0], stoppedAt[1]);
        Assert.InRange(stoppedAt[0], 7, 8);
    }

    [Fact]
    public async Task Abort_releases_a_rank_waiting_for_a_peer_that_died()
    {
        using var group = new RunGroup("r", 1, 2);
        var waiting = Task.Run(() => group.AllReduceMean(0, [new float[] { 1 }]));
        await Task.Delay(100);
        Assert.False(waiting.IsCompleted);
        group.Abort("rank 1 failed: out of memory");
        var e = await Assert.ThrowsAsync<RunGroupAbortedException>(() => waiting);
        Assert.Contains("rank 1 failed", e.Message);
    }

    [Fact]
    public void World_size_one_needs_no_barrier_and_stops_at_once()
    {
        using var group = new RunGroup("r", 1, 1);
        var buf = new float[] { 3 };
        group.AllReduceMean(0, [buf]);
        Assert.Equal(3, buf[0]);
        Assert.Equal(RunStop.None, group.AgreedStop);
        group.RequestStop(RunStop.Complete);
        group.RequestStop(RunStop.Cancel);
        group.RequestStop(RunStop.Suspend);
        Assert.Equal(RunStop.Cancel, group.AgreedStop); // cancel wins over the others
    }

    [Fact]
    public async Task The_two_hop_phase_asked_by_the_leader_is_agreed_by_all_at_the_same_step()
    {
        using var group = new RunGroup("r", 1, 2);
        var switchedAt = new long[2];
        await Task.WhenAll(Enumerable.Range(0, 2).Select(rank => Task.Run(() =>
        {
            var view = group.ForRank(rank);
            for (long step = 1; step < 50; step++)
            {
                if (view.AgreedTwoHopPhase && switchedAt[rank] == 0) switchedAt[rank] = step;
                if (rank == 0 && step == 5) view.RequestTwoHopPhase();
                Thread.Sleep(rank * 2);
                group.AllReduceMean(rank, [new float[] { 1 }]);
            }
        })));
        Assert.Equal(switchedAt[0], switchedAt[1]);
        Assert.Equal(6, switchedAt[0]);
    }
}
