using System.Diagnostics;

namespace Lockstep.Bench;

/// <summary>How long one durable write takes on the disk the journals live on: 4 KiB written and flushed (fsync), 200 times.</summary>
internal static class DiskProbe
{
    public static (double P50, double P99) FsyncMs(string folder)
    {
        var path = Path.Combine(folder, "fsync-probe.bin");
        var block = new byte[4096];
        var samples = new List<double>(200);
        using (var file = new FileStream(path, FileMode.Create, FileAccess.Write, FileShare.None, 1, FileOptions.None))
        {
            for (var i = 0; i < 200; i++)
            {
                file.Position = i % 64 * 4096L;
                file.Write(block);
                var start = Stopwatch.GetTimestamp();
                file.Flush(flushToDisk: true);
                samples.Add(Stopwatch.GetElapsedTime(start).TotalMilliseconds);
            }
        }
        File.Delete(path);
        samples.Sort();
        return (samples[99], samples[197]);
    }
}
