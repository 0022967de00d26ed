using System.Reflection;
using System.Security.Cryptography;
using System.Text;
using GroupRobust.Checkpoints;

namespace GroupRobust.Tests.TestSupport;

/// <summary>Rewrites sections of a checkpoint file with valid checksums, to reach the checks behind the checksum.</summary>
internal static class CheckpointSurgery
{
    /// <summary>Replaces the state section of the v2 checkpoint at <paramref name="path"/> by <paramref name="bytes"/>, with a matching SHA-256.</summary>
    public static void ReplaceStateSection(string path, byte[] bytes)
    {
        var tag = (byte[])typeof(TrainingCheckpoint).GetField("TagV2", BindingFlags.NonPublic | BindingFlags.Static)!.GetValue(null)!;
        var sections = new List<(string Name, byte[] Bytes)>();
        using (var r = new BinaryReader(File.OpenRead(path)))
        {
            Assert.Equal(tag, r.ReadBytes(tag.Length));
            for (int i = 0; i < 3; i++)
            {
                var name = r.ReadString();
                long length = r.ReadInt64();
                r.ReadBytes(32);
                sections.Add((name, r.ReadBytes((int)length)));
            }
        }
        Assert.Equal("state", sections[0].Name);
        sections[0] = ("state", bytes);
        using var w = new BinaryWriter(File.Create(path), Encoding.UTF8);
        w.Write(tag);
        foreach (var (name, data) in sections)
        {
            w.Write(name);
            w.Write((long)data.Length);
            w.Write(SHA256.HashData(data));
            w.Write(data);
        }
    }
}
