using static TorchSharp.torch;

namespace ActorLab.Model.Tests.Probes;

/// <summary>Seeded synthetic classification sets for probe tests.</summary>
static class SyntheticProbeData
{
    /// <summary>Gaussian blobs: class c centred at separation * e_c (first numClasses dims), unit noise.</summary>
    public static (Tensor X, Tensor Y) Blobs(int n, int dim, int numClasses, double separation, int seed)
    {
        var rng = new Random(seed);
        var x = new float[n * dim];
        var y = new long[n];
        for (int i = 0; i < n; i++)
        {
            y[i] = i % numClasses;
            for (int j = 0; j < dim; j++) x[i * dim + j] = (float)Gauss(rng);
            x[i * dim + (int)y[i]] += (float)separation;
        }
        return (tensor(x, n, dim), tensor(y));
    }

    /// <summary>
    /// Binary labels drawn from a logistic model p(y=1|x) = sigmoid(w . x) over the first `signalDims` dims
    /// (weight `scale` each); the remaining dims are pure noise.
    /// </summary>
    public static (Tensor X, Tensor Y) Logistic(int n, int dim, int signalDims, double scale, int seed)
    {
        var rng = new Random(seed);
        var x = new float[n * dim];
        var y = new long[n];
        for (int i = 0; i < n; i++)
        {
            double logit = 0;
            for (int j = 0; j < dim; j++)
            {
                var v = Gauss(rng);
                x[i * dim + j] = (float)v;
                if (j < signalDims) logit += scale * v;
            }
            y[i] = rng.NextDouble() < 1 / (1 + Math.Exp(-logit)) ? 1 : 0;
        }
        return (tensor(x, n, dim), tensor(y));
    }

    static double Gauss(Random rng) =>
        Math.Sqrt(-2 * Math.Log(1 - rng.NextDouble())) * Math.Cos(2 * Math.PI * rng.NextDouble());
}
