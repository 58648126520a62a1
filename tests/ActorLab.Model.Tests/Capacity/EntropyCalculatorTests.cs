using ActorLab.Model.Capacity;

namespace ActorLab.Model.Tests.Capacity;

public class EntropyCalculatorTests
{
    [Fact]
    public void Subject_entropies_are_log2_of_distinct_values_used()
    {
        var e = CapacityTestData.Entropy(SelectionScheme.Optimal);
        Assert.Equal(CapacityTestData.N, e.N);
        Assert.Equal(2, e.Relations);
        Assert.Equal(CapacityTestData.H, e.SubjectEntropies.ToArray(), new ToleranceComparer(1e-12));
        Assert.Equal(["birth_date", "birth_city", "university", "employer", "parent", "child"], e.SubjectNames);
    }

    [Theory]
    [InlineData(SelectionScheme.Optimal)]
    [InlineData(SelectionScheme.Enumerate)]
    [InlineData(SelectionScheme.Independent)]
    public void Selection_entropies_follow_each_scheme(SelectionScheme s)
    {
        var e = CapacityTestData.Entropy(s);
        Assert.Equal(CapacityTestData.NameSelection(s), e.NameSelectionEntropy, 9);
        Assert.Equal(CapacityTestData.DateSelection(s), e.BirthDateSelectionEntropy, 7);
        Assert.Equal(e.NameSelectionEntropy + e.BirthDateSelectionEntropy, e.BaselineCapacity, 9);
    }

    [Fact]
    public void Log2Binomial_matches_exact_values()
    {
        Assert.Equal(Math.Log2(120), EntropyCalculator.Log2Binomial(10, 3), 10);
        Assert.Equal(Math.Log2(73048), EntropyCalculator.Log2Binomial(73048, 1), 9);
        Assert.Equal(0, EntropyCalculator.Log2Binomial(73048, 73048), 6);
        // A large u: the product formula summed term by term.
        double sum = 0;
        for (int i = 1; i <= 30000; i++) sum += Math.Log2((73048.0 - 30000 + i) / i);
        Assert.Equal(sum, EntropyCalculator.Log2Binomial(73048, 30000), 5);
    }

    [Fact]
    public void LogGamma_matches_factorials()
    {
        double logFact = 0;
        for (int k = 1; k <= 30; k++)
        {
            logFact += Math.Log(k);
            Assert.Equal(logFact, EntropyCalculator.LogGamma(k + 1), 10);
        }
        Assert.Equal(0.5 * Math.Log(Math.PI), EntropyCalculator.LogGamma(0.5), 10);
    }
}

/// <summary>Element-wise comparison within an absolute tolerance.</summary>
public sealed class ToleranceComparer(double tolerance) : IEqualityComparer<double>
{
    public bool Equals(double x, double y) => (double.IsNaN(x) && double.IsNaN(y)) || Math.Abs(x - y) <= tolerance;
    public int GetHashCode(double obj) => 0;
}
