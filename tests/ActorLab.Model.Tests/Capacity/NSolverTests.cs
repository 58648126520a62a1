using ActorLab.Model.Capacity;
using ActorLab.Model.Common;
using ActorLab.Model.Profiles;

namespace ActorLab.Model.Tests.Capacity;

public class NSolverTests
{
    [Fact]
    public void Expected_distinct_counts_have_the_right_limits()
    {
        Assert.Equal(1, NSolver.ExpectedDistinct(223, 1), 12);
        Assert.Equal(223, NSolver.ExpectedDistinct(223, 1e7), 6);
        // Two draws from 4: 1 + 3/4.
        Assert.Equal(1.75, NSolver.ExpectedDistinct(4, 2), 12);
        Assert.Equal(1, NSolver.ExpectedDistinctBirthDates(1), 12);
        // Clamping to day 28 leaves 200 years x 12 months x 28 days dates.
        Assert.Equal(200 * 12 * 28, NSolver.ExpectedDistinctBirthDates(1e9), 3);
    }

    [Fact]
    public void Expected_1hop_entropy_grows_with_N()
    {
        double previous = 0;
        foreach (var n in new[] { 1, 2, 10, 100, 1000, 10_000, 50_000, 100_000, 1_000_000, 10_000_000 })
        {
            double h = NSolver.ExpectedEntropy1Hop(n, 17, ValueListSizes.Reference, SelectionScheme.Optimal);
            Assert.True(h > previous, $"entropy at N={n} ({h}) not above the previous ({previous})");
            previous = h;
        }
    }

    [Theory]
    [InlineData(1000, 4, SelectionScheme.Optimal)]
    [InlineData(25_000, 17, SelectionScheme.Enumerate)]
    [InlineData(123_457, 2, SelectionScheme.Independent)]
    public void Solving_for_the_entropy_of_N_gives_back_N(int n, int relations, SelectionScheme sel)
    {
        double bits = NSolver.ExpectedEntropy1Hop(n, relations, ValueListSizes.Reference, sel);
        var s = NSolver.Solve(bits, relations, ValueListSizes.Reference, sel);
        Assert.Equal(n, s.N);
        Assert.Equal(bits, s.PredictedEntropy1Hop, 6);
        // Halfway to the next N still picks the closer one.
        double next = NSolver.ExpectedEntropy1Hop(n + 1, relations, ValueListSizes.Reference, sel);
        Assert.Equal(n + 1, NSolver.Solve(bits + 0.75 * (next - bits), relations, ValueListSizes.Reference, sel).N);
    }

    [Fact]
    public void The_solution_checks_out_on_a_generated_dataset()
    {
        var lists = ValueLists.Default;
        var sizes = ValueListSizes.Of(lists);
        const double target = 2_000_000;
        var s = NSolver.Solve(target, 4, sizes, SelectionScheme.Optimal);
        var db = ProfileGenerator.Generate(new ProfileGeneratorConfig(s.N, 4, 7), lists);
        double actual = CapacityCalculator.DatasetEntropy1Hop(EntropyCalculator.Compute(db, SelectionScheme.Optimal), CapacityScheme.Optimal);
        Assert.InRange(actual / target, 0.995, 1.005);
        // Round trip through the generated dataset's real entropy: N comes back within 0.5%.
        var back = NSolver.Solve(actual, 4, sizes, SelectionScheme.Optimal);
        Assert.InRange(back.N, s.N * 0.995, s.N * 1.005);
    }

    [Fact]
    public void Bad_targets_are_refused()
    {
        Assert.Throws<UserInputException>(() => NSolver.Solve(0, 4, ValueListSizes.Reference, SelectionScheme.Optimal));
        Assert.Throws<UserInputException>(() => NSolver.Solve(double.NaN, 4, ValueListSizes.Reference, SelectionScheme.Optimal));
        Assert.Throws<UserInputException>(() => NSolver.Solve(1e6, 18, ValueListSizes.Reference, SelectionScheme.Optimal));
        Assert.Throws<UserInputException>(() => NSolver.Solve(1e15, 4, ValueListSizes.Reference, SelectionScheme.Optimal));
    }
}
