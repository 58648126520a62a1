using System.Globalization;
using TorchSharp.Modules;
using static TorchSharp.torch.utils;

namespace ActorLab.Model.Capacity;

/// <summary>
/// Capacity beside the training curves in TensorBoard: per run and hop level, capacity in bits, bits per parameter
/// and the fraction of dataset entropy at every measured step, in one event file per scheme and selection scheme.
/// A new measurement replaces that file (the same steps would otherwise be drawn twice).
/// </summary>
public static class CapacityTensorBoard
{
    /// <param name="dirOf">The TensorBoard folder of a run (a sweep's: the run's own tensorboard/, `measure`: under --out).</param>
    public static void Write(MeasureReport report, Func<RunInfo, string> dirOf)
    {
        var o = report.Options;
        var tag = $"{o.Scheme.Name()}_{o.Selection.Name()}";
        var suffix = "capacity_" + tag;
        foreach (var run in report.AllSteps.GroupBy(r => r.Run.Dir))
        {
            var dir = dirOf(run.First().Run);
            Directory.CreateDirectory(dir);
            foreach (var old in Directory.GetFiles(dir, "events.out.tfevents.*").Where(f => f.EndsWith(suffix, StringComparison.Ordinal))) File.Delete(old);
            var writer = tensorboard.SummaryWriter(dir, filename_suffix: suffix);
            foreach (var r in run.OrderBy(r => r.Hops).ThenBy(r => r.Step))
            {
                var step = checked((int)r.Step);
                var hops = r.Hops.ToString("0.#", CultureInfo.InvariantCulture);
                writer.add_scalar($"capacity_{tag}/hops{hops}_bits", (float)r.Capacity, step);
                if (!double.IsNaN(r.BitsPerParam)) writer.add_scalar($"capacity_{tag}/hops{hops}_bits_per_param", (float)r.BitsPerParam, step);
                if (!double.IsNaN(r.FractionOfEntropy)) writer.add_scalar($"capacity_{tag}/hops{hops}_fraction_of_entropy", (float)r.FractionOfEntropy, step);
            }
        }
    }
}
