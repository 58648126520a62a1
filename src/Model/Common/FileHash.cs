using System.Security.Cryptography;

namespace ActorLab.Model.Common;

/// <summary>SHA-256 of files, as lowercase hex: what checkpoints, datasets and published results are checked by.</summary>
public static class FileHash
{
    public static string Sha256(string path)
    {
        using var fs = File.OpenRead(path);
        return Convert.ToHexStringLower(SHA256.HashData(fs));
    }

    /// <summary>One hash over a folder's files (names and contents, in ordinal name order).</summary>
    public static string Sha256OfFolder(string dir)
    {
        using var sha = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        foreach (var f in Directory.GetFiles(dir).Order(StringComparer.Ordinal))
        {
            sha.AppendData(System.Text.Encoding.UTF8.GetBytes(Path.GetFileName(f) + "\n" + Sha256(f) + "\n"));
        }
        return Convert.ToHexStringLower(sha.GetHashAndReset());
    }
}
