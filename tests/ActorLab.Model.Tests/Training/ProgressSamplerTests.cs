using System.Globalization;
using System.Text;
using ActorLab.Model.Training;

namespace ActorLab.Model.Tests.Training;

public class ProgressSamplerTests
{
    static string Row(long epoch, long step, double loss) =>
        string.Create(CultureInfo.InvariantCulture, $"{epoch},step,{step},{loss:R},0.001,5000,2026-12-03T11:50:32.6849328+00:00");

    [Fact]
    public void A_small_progress_file_is_read_whole_and_a_later_epoch_wins_a_step()
    {
        var dir = Directory.CreateTempSubdirectory("progress-").FullName;
        File.WriteAllLines(Path.Combine(dir, "progress.e1.csv"), [ProgressCsv.Header, "1,start,0,NaN,NaN,NaN,x", Row(1, 1, 6.0), Row(1, 2, 5.0), Row(1, 3, 4.0)]);
        File.WriteAllLines(Path.Combine(dir, "progress.e2.csv"), [ProgressCsv.Header, "2,start,2,NaN,NaN,NaN,x", Row(2, 3, 3.5), Row(2, 4, 3.0)]);
        Assert.Equal([(1L, 6.0), (2L, 5.0), (3L, 3.5), (4L, 3.0)], ProgressSampler.TrainLoss(dir));
    }

    /// <summary>A long run's file (here 200,000 rows, about 16 MB) is sampled, not read: its head whole, then log-spaced rows to the end.</summary>
    [Fact]
    public void A_large_progress_file_is_sampled_at_log_spaced_steps_to_its_end()
    {
        var dir = Directory.CreateTempSubdirectory("progress-").FullName;
        var sb = new StringBuilder(ProgressCsv.Header + "\n");
        for (long s = 1; s <= 200_000; s++) sb.Append(Row(1, s, 1.0 / s)).Append('\n');
        File.WriteAllText(Path.Combine(dir, "progress.e1.csv"), sb.ToString());
        var points = ProgressSampler.TrainLoss(dir, points: 300);
        Assert.InRange(points.Count, 10_000, 14_000); // the first MiB is ~12,000 rows, then at most 300 more
        Assert.Equal(1, points[0].Step);
        Assert.True(points[^1].Step > 195_000, $"last sampled step {points[^1].Step}");
        Assert.All(points, p => Assert.Equal(1.0 / p.Step, p.Loss));
        Assert.Equal(points.Select(p => p.Step).Order(), points.Select(p => p.Step));
    }
}
