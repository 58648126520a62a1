using System.Globalization;
using ActorLab.Model.Storage;

namespace ActorLab.Model.Training;

/// <summary>
/// The train loss of a run for a plot on a log step axis: every row of a small progress file, and of a large one
/// (a 1e7-step run writes about 600 MB) its first MiB and then about <paramref name="points"/> rows at log-spaced
/// byte offsets (rows are about the same length, so offset follows step), so reading stays bounded whatever the run's
/// length. All epochs' files, a later epoch's row winning a step both wrote.
/// </summary>
public static class ProgressSampler
{
    const long ReadWhole = 4 << 20, Head = 1 << 20;

    public static IReadOnlyList<(long Step, double Loss)> TrainLoss(string runDir, int points = 400)
    {
        var byStep = new SortedDictionary<long, double>();
        foreach (var (_, path) in new RunFolder(runDir, null).ProgressFiles())
            foreach (var line in Sample(path, points))
                if (Parse(line) is { } row) byStep[row.Step] = row.Loss;
        return byStep.Select(kv => (kv.Key, kv.Value)).ToList();
    }

    static IEnumerable<string> Sample(string path, int points)
    {
        using var f = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
        var size = f.Length;
        if (size <= ReadWhole)
        {
            using var all = new StreamReader(f);
            while (all.ReadLine() is { } l) yield return l;
            yield break;
        }
        var head = new byte[Head];
        f.ReadExactly(head);
        var text = System.Text.Encoding.UTF8.GetString(head);
        foreach (var l in text[..text.LastIndexOf('\n')].Split('\n')) yield return l;
        var ratio = Math.Pow((double)size / Head, 1.0 / points);
        for (double at = Head * ratio; at < size; at *= ratio)
        {
            f.Position = (long)at;
            var line = ReadLineAfter(f);
            if (line != null) yield return line;
        }
    }

    /// <summary>The first whole line after the current position (the partial one it lands in is skipped).</summary>
    static string? ReadLineAfter(FileStream f)
    {
        var buffer = new byte[512];
        var n = f.Read(buffer);
        var text = System.Text.Encoding.UTF8.GetString(buffer, 0, n);
        var start = text.IndexOf('\n');
        if (start < 0) return null;
        var end = text.IndexOf('\n', start + 1);
        return end < 0 ? null : text[(start + 1)..end];
    }

    // epoch,kind,step,loss,lr,tokens_per_s,time: only "step" rows, finite losses
    static (long Step, double Loss)? Parse(string line)
    {
        var p = line.Split(',');
        if (p.Length < 4 || p[1] != "step") return null;
        if (!long.TryParse(p[2], NumberStyles.Integer, CultureInfo.InvariantCulture, out var step) ||
            !double.TryParse(p[3], NumberStyles.Float, CultureInfo.InvariantCulture, out var loss) || !double.IsFinite(loss)) return null;
        return (step, loss);
    }
}
