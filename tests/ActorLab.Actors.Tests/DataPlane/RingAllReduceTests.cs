using ActorLab.Actors.DataPlane;
using ActorLab.Actors.Training;

namespace ActorLab.Actors.Tests.DataPlane;

public class RingAllReduceTests
{
    public static TheoryData<int, int> Sizes()
    {
        var data = new TheoryData<int, int>();
        foreach (var w in new[] { 2, 3, 4 })
            foreach (var count in new[] { 0, 1, w - 1, 7, 1000, (1 << 18) * w + 3 }.Distinct()) // the last: several 1 MiB blocks per chunk, not divisible by W
                data.Add(w, count);
        return data;
    }

    [Theory(Timeout = 60_000)]
    [MemberData(nameof(Sizes))]
    public async Task Every_member_gets_the_elementwise_sum_with_the_same_bits(int world, int count)
    {
        using var ring = await TestRing.Start(world);
        var buffers = TestRing.RandomBuffers(world, count, seed: world * 1000 + count);
        var expected = Enumerable.Range(0, count).Select(j => buffers.Sum(b => (double)b[j])).ToArray();
        await ring.AllReduce(buffers, count);
        for (var j = 0; j < count; j++)
            Assert.True(Math.Abs(buffers[0][j] - expected[j]) <= 1e-5 * world, $"value {j}: {buffers[0][j]} vs {expected[j]}");
        var bits = TestRing.Bits(buffers[0], count);
        for (var r = 1; r < world; r++) Assert.Equal(bits, TestRing.Bits(buffers[r], count));
    }

    [Fact(Timeout = 120_000)]
    public async Task A_25_MB_buffer_sums_on_a_ring_of_three()
    {
        const int count = 25 * (1 << 20) / 4 + 1;
        using var ring = await TestRing.Start(3);
        var buffers = Enumerable.Range(0, 3).Select(r => Enumerable.Range(0, count).Select(j => (float)(r + 1) * (j % 1000)).ToArray()).ToArray();
        await ring.AllReduce(buffers, count);
        // small integers: the sum is exact whatever the order
        for (var j = 0; j < count; j += 997) Assert.Equal(6f * (j % 1000), buffers[0][j]);
        Assert.Equal(TestRing.Bits(buffers[0], count), TestRing.Bits(buffers[1], count));
        Assert.Equal(TestRing.Bits(buffers[0], count), TestRing.Bits(buffers[2], count));
    }

    [Fact(Timeout = 120_000)]
    public async Task Many_steps_in_a_row_stay_correct_and_allocate_no_buffers_on_the_calling_thread()
    {
        const int world = 3, count = 300_001, steps = 100;
        using var ring = await TestRing.Start(world);
        var buffers = Enumerable.Range(0, world).Select(_ => new float[count]).ToArray();
        var allocated = new long[world];
        await Task.WhenAll(ring.Members.Select((m, r) => TestRing.OnThread(() =>
        {
            for (var step = 0; step <= steps; step++)
            {
                if (step == 1) allocated[r] = GC.GetAllocatedBytesForCurrentThread(); // step 0 sized the buffers
                Array.Fill(buffers[r], r + step);
                m.AllReduceSum(buffers[r], count, default, TestRing.Deadline);
                var want = world * step + world * (world - 1) / 2;
                if (buffers[r][0] != want || buffers[r][count - 1] != want) throw new Exception($"step {step}: {buffers[r][0]} instead of {want}");
            }
            allocated[r] = GC.GetAllocatedBytesForCurrentThread() - allocated[r];
            return 0;
        })));
        // a chunk is 400 KB: nothing of that size is allocated per step. What remains (measured 0.5-1.2 KB a step) are the
        // runtime's small objects for blocking socket calls, not buffers
        Assert.All(allocated, a => Assert.True(a < steps * 2048, $"{a} bytes allocated over {steps} steps"));
    }

    [Fact(Timeout = 60_000)]
    public async Task Two_members_sum_the_same_floats_as_RunGroup()
    {
        const int count = 100_003;
        var buffers = TestRing.RandomBuffers(2, count, seed: 7);
        // what RunGroup computes for the same two ranks: mean += a; mean += b; then *= 1/2
        using var group = new RunGroup("r", 1, 2);
        var means = buffers.Select(b => (float[])b.Clone()).ToArray();
        await Task.WhenAll(Enumerable.Range(0, 2).Select(r => TestRing.OnThread(() => { group.AllReduceMean(r, [means[r]]); return 0; })));
        var sum = new float[count];
        for (var j = 0; j < count; j++)
        {
            sum[j] += buffers[0][j];
            sum[j] += buffers[1][j];
        }

        using var ring = await TestRing.Start(2);
        await ring.AllReduce(buffers, count);
        Assert.Equal(TestRing.Bits(sum, count), TestRing.Bits(buffers[0], count));
        var scaled = buffers[0].Select(v => v * (1f / 2)).ToArray();
        Assert.Equal(TestRing.Bits(means[0], count), TestRing.Bits(scaled, count));
    }

    [Theory(Timeout = 60_000)]
    [InlineData(2)]
    [InlineData(3)]
    [InlineData(4)]
    [InlineData(5)]
    public async Task The_strongest_stop_and_any_two_hop_are_agreed_by_all_after_the_same_step(int world)
    {
        using var ring = await TestRing.Start(world);
        var buffers = TestRing.RandomBuffers(world, 10, seed: 1);
        var flags = new RingFlags[world];
        flags[1 % world] = flags[1 % world].Merge(new RingFlags(2, false));
        flags[2 % world] = flags[2 % world].Merge(new RingFlags(3, false));
        flags[world - 1] = flags[world - 1].Merge(new RingFlags(0, true));
        var agreed = await ring.AllReduce(buffers, 10, flags);
        Assert.All(agreed, f => Assert.Equal(new RingFlags(3, true), f));
        // the flags are the step's own: nobody asking gives none
        agreed = await ring.AllReduce(buffers, 10);
        Assert.All(agreed, f => Assert.Equal(new RingFlags(0, false), f));
        // one member alone, the last in the ring to hear of it, still reaches everyone
        flags = new RingFlags[world];
        flags[0] = new RingFlags(1, false);
        agreed = await ring.AllReduce(buffers, 0, flags);
        Assert.All(agreed, f => Assert.Equal(new RingFlags(1, false), f));
    }

    [Fact]
    public async Task A_ring_of_one_leaves_the_buffer_and_flags_as_they_are()
    {
        using var listener = new DataPlaneListener(System.Net.IPAddress.Loopback, 0);
        var spec = new RingSpec("solo", 1, [new RingMember("A", "127.0.0.1", listener.Port)], RingSpec.NewSecret());
        using var ring = await listener.JoinAsync(spec, 0, TimeSpan.FromSeconds(1), CancellationToken.None);
        var buffer = new[] { 1f, 2f, 3f };
        Assert.Equal(new RingFlags(2, true), ring.AllReduceSum(buffer, 3, new RingFlags(2, true), TimeSpan.FromSeconds(1)));
        Assert.Equal([1f, 2f, 3f], buffer);
    }
}
