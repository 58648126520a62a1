using ActorLab.Actors.DataPlane;
using ActorLab.Actors.Training;
using ActorLab.Model.Training;

namespace ActorLab.Actors.Tests.DataPlane;

/// <summary>
/// RunGroups of one run on several "nodes" (listeners in this process) reducing through <see cref="RingReduce"/>:
/// the same averages, bit for bit, as the same ranks in one RunGroup, the agreements at the same step, and a
/// node that goes away fails the step on the others (no rank returns from the all-reduce to apply it).
/// </summary>
public class CrossNodeRunGroupTests
{
    /// <summary>One group per node: node i holds <paramref name="ranksPerNode"/>[i] ranks.</summary>
    static (RunGroup[] Groups, TestRing Ring) Groups(int[] ranksPerNode, long epoch = 1)
    {
        var ring = TestRing.Prepare(ranksPerNode.Length, epoch: epoch);
        var world = ranksPerNode.Sum();
        var first = 0;
        var groups = new RunGroup[ranksPerNode.Length];
        for (var n = 0; n < ranksPerNode.Length; n++)
        {
            groups[n] = new RunGroup(ring.Spec.RunId, epoch, ranksPerNode[n], first, world,
                new RingReduce(ring.Listeners[n], ring.Spec, n, TimeSpan.FromSeconds(10)), _ => TimeSpan.FromSeconds(20));
            first += ranksPerNode[n];
        }
        return (groups, ring);
    }

    /// <summary>Every rank of every group all-reduces its buffer once, each on a thread of its own.</summary>
    static Task Step(RunGroup[] groups, float[][] buffers)
    {
        var tasks = new List<Task>();
        var global = 0;
        foreach (var g in groups)
            for (var local = 0; local < g.LocalRanks; local++)
            {
                var (l, buffer) = (local, buffers[global++]);
                tasks.Add(TestRing.OnThread(() => { g.AllReduceMean(l, [buffer]); return 0; }));
            }
        return Task.WhenAll(tasks);
    }

    [Theory(Timeout = 60_000)]
    [InlineData(new[] { 1, 1 })]
    [InlineData(new[] { 2, 1 })]
    public async Task The_mean_across_nodes_is_bit_for_bit_the_mean_in_one_node(int[] ranksPerNode)
    {
        var (groups, ring) = Groups(ranksPerNode);
        var world = ranksPerNode.Sum();
        using var within = new RunGroup("run-a", 1, world);
        try
        {
            for (var step = 0; step < 20; step++)
            {
                var across = TestRing.RandomBuffers(world, 1003, seed: step);
                var one = across.Select(b => b.ToArray()).ToArray();
                await Step(groups, across);
                await Step([within], one);
                for (var r = 0; r < world; r++)
                {
                    Assert.Equal(TestRing.Bits(one[r], 1003), TestRing.Bits(across[r], 1003));
                    Assert.Equal(TestRing.Bits(across[0], 1003), TestRing.Bits(across[r], 1003));
                }
            }
            // the ranks' views: global ranks in order, one world
            var views = groups.SelectMany(g => Enumerable.Range(0, g.LocalRanks).Select(g.ForRank)).ToList();
            Assert.Equal(Enumerable.Range(0, world), views.Select(v => v.Rank));
            Assert.All(views, v => Assert.Equal(world, v.WorldSize));
            Assert.Single(views, v => v.IsLeader);
        }
        finally
        {
            foreach (var g in groups) g.Dispose();
            ring.Dispose();
        }
    }

    [Fact(Timeout = 60_000)]
    public async Task A_stop_and_the_two_hop_phase_asked_on_one_node_are_agreed_on_every_node_at_the_same_step()
    {
        var (groups, ring) = Groups([1, 1, 1]);
        try
        {
            for (var step = 1; step <= 6; step++)
            {
                if (step == 3) groups[2].RequestTwoHopPhase();
                if (step == 5) groups[1].RequestStop(RunStop.Suspend);
                if (step == 5) groups[2].RequestStop(RunStop.Cancel);
                await Step(groups, TestRing.RandomBuffers(3, 10, step));
                Assert.All(groups, g => Assert.Equal(step >= 3, g.AgreedTwoHopPhase));
                Assert.All(groups, g => Assert.Equal(step >= 5 ? RunStop.Cancel : RunStop.None, g.AgreedStop));
            }
        }
        finally
        {
            foreach (var g in groups) g.Dispose();
            ring.Dispose();
        }
    }

    [Fact(Timeout = 60_000)]
    public async Task A_node_that_goes_away_mid_run_fails_the_step_on_the_others()
    {
        var (groups, ring) = Groups([2, 1]);
        try
        {
            await Step(groups, TestRing.RandomBuffers(3, 100, 1));
            // the one-rank node ends (its process died, say): the two ranks of the other node are waiting in the step
            var waiting = Enumerable.Range(0, 2).Select(l => TestRing.OnThread(() =>
            {
                try { groups[0].AllReduceMean(l, [new float[100]]); return "returned"; }
                catch (RunGroupAbortedException e) { return e.Message; }
            })).ToArray();
            await Task.Delay(200);
            groups[1].Dispose();
            var outcomes = await Task.WhenAll(waiting).WaitAsync(TimeSpan.FromSeconds(10));
            Assert.All(outcomes, o => Assert.StartsWith("all-reduce failed:", o));
            Assert.All(outcomes, o => Assert.Contains(TestRing.Node(1), o));
        }
        finally
        {
            foreach (var g in groups) g.Dispose();
            ring.Dispose();
        }
    }

    [Fact(Timeout = 60_000)]
    public async Task Abort_releases_a_node_whose_peer_never_joins()
    {
        var (groups, ring) = Groups([1, 1]);
        try
        {
            // node 1 never reaches its first step (its dataset is still building, say); the run is cancelled
            var waiting = TestRing.OnThread(() =>
            {
                try { groups[0].AllReduceMean(0, [new float[10]]); return "returned"; }
                catch (RunGroupAbortedException e) { return e.Message; }
            });
            await Task.Delay(300);
            groups[0].Abort("the run was cancelled");
            Assert.Contains("cancelled", await waiting.WaitAsync(TimeSpan.FromSeconds(10)));
        }
        finally
        {
            foreach (var g in groups) g.Dispose();
            ring.Dispose();
        }
    }
}
