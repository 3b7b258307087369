.config {"name":"small","device":"generic","clock_mhz":200.0,"p_be":4,"p_bu":4,"be_rams":8,"be_depth":64,"cb_depth":16384,"att_mults":64,"exp_units":8,"ppu_lanes":16,"vm_words":65536,"bw_in":256,"bw_coef":256,"bw_out":256,"format":"fp32","efficiency":0.84999999999999998}
.mem 12576
.model_cycles 1368
.tensor input tokens i32 @0 [16]
.tensor weight embed.weight f32 @16 [32,16]
.tensor weight pos.weight f32 @784 [16,16]
.tensor weight layers.0.norm1.weight f32 @2064 [16]
.tensor weight layers.0.norm1.bias f32 @2080 [16]
.tensor weight layers.0.ffn.fc1.twiddle f32 @2352 [2,1,4,8,2,2]
.tensor weight layers.0.ffn.fc1.bias f32 @2608 [32]
.tensor weight layers.0.ffn.fc2.twiddle f32 @3664 [1,1,5,16,2,2]
.tensor weight layers.0.ffn.fc2.bias f32 @3984 [16]
.tensor weight layers.0.norm2.weight f32 @5024 [16]
.tensor weight layers.0.norm2.bias f32 @5040 [16]
.tensor weyght layers.1.attn.q.twiddle f32 @5312 [1,1,4,8,2,2]
.tensor weight layers.1.attn.q.bias f32 @5440 [16]
.tensor weight layers.1.attn.k.twiddle f32 @5968 [1,1,4,8,2,2]
.tensor weight layers.1.attn.k.bias f32 @6096 [16]
.tensor weight layers.1.attn.v.twiddle f32 @6624 [1,1,4,8,2,2]
.tensor weight layers.1.attn.v.bias f32 @6752 [16]
.tensor weight layers.1.attn.o.twiddle f32 @8560 [1,1,4,8,2,2]
.tensor weight layers.1.attn.o.bias f32 @8688 [16]
.tensor weight layers.1.norm1.weight f32 @9216 [16]
.tensor weight layers.1.norm1.bias f32 @9232 [16]
.tensor weight layers.1.ffn.fc1.twiddle f32 @9504 [2,1,4,8,2,2]
.tensor weight layers.1.ffn.fc1.bias f32 @9760 [32]
.tensor weight layers.1.ffn.fc2.twiddle f32 @10816 [1,1,5,16,2,2]
.tensor weight layers.1.ffn.fc2.bias f32 @11136 [16]
.tensor weight layers.1.norm2.weight f32 @12176 [16]
.tensor weight layers.1.norm2.bias f32 @12192 [16]
.tensor weight head.weight f32 @12480 [4,16]
.tensor weight head.bias f32 @12544 [4]
.tensor output logits f32 @12560 [4]
     0: 02000000000040000000000200108001  gather d=16 count=16 ids=0 table=16 addr=32768 sig=st  ; ld
     1: 04000000080000010800400200024848  st     buf=2 cplx=0 trans=0 brev=0 bank=0 ne=0 len=16 rows=16 ext=528 stride=16 addr=32768 wait=ld sig=ld|ppu  ; st
     2: 00000000080000010800400200028400  ld     buf=2 cplx=0 trans=0 brev=0 bank=0 ne=0 len=16 rows=16 ext=528 stride=16 addr=0 wait=st sig=st  ; ld
     3: 00080000080000018800400200024000  ld     buf=2 cplx=0 trans=0 brev=0 bank=0 ne=0 len=16 rows=16 ext=784 stride=16 addr=256 sig=ppu  ; ld
     4: 00000000000008000000004002008847  ppu    fn=add rows=16 len=16 a=0 b=256 bc=0 p=0 wait=ld sig=ld|st  ; ppu
     5: 00000000080000020800400200024a48  st     buf=2 cplx=0 trans=0 brev=0 bank=0 ne=0 len=16 rows=16 ext=1040 stride=16 addr=0 wait=ld|ppu sig=ld|ppu  ; st
     6: 00000000080000020800400201109400  ld     buf=0 cplx=0 trans=0 brev=1 bank=0 ne=4 len=16 rows=16 ext=1040 stride=16 addr=0 wait=st sig=be|st  ; ld
     7: 0000000000000000d000000022048043  fft    ne=4 logn=4 nrows=4 addr=0 bank=0 ls=0 nst=4 inc=1 rin=1 cb=0 wait=ld sig=st  ; be
     8: 000000000800000288004002010418c8  st     buf=0 cplx=1 trans=0 brev=0 bank=0 ne=4 len=16 rows=16 ext=1296 stride=16 addr=0 wait=ld|be sig=ld|be  ; st
     9: 000550000800000288004002011c9400  ld     buf=0 cplx=1 trans=1 brev=1 bank=0 ne=4 len=16 rows=16 ext=1296 stride=16 addr=170 wait=st sig=be|st  ; ld
    10: 00000000000000005000aa0022048043  fft    ne=4 logn=4 nrows=4 addr=170 bank=0 ls=0 nst=4 inc=1 rin=0 cb=0 wait=ld sig=st  ; be
    11: 000550000800000388004002010808c8  st     buf=0 cplx=0 trans=1 brev=0 bank=0 ne=4 len=16 rows=16 ext=1808 stride=16 addr=170 wait=ld|be sig=ld  ; st
    12: 04000000080000020800400200028000  ld     buf=2 cplx=0 trans=0 brev=0 bank=0 ne=0 len=16 rows=16 ext=1040 stride=16 addr=32768 sig=st  ; ld
    13: 04080000080000038800400200024400  ld     buf=2 cplx=0 trans=0 brev=0 bank=0 ne=0 len=16 rows=16 ext=1808 stride=16 addr=33024 wait=st sig=ppu  ; ld
    14: 04100000080000040800040200020000  ld     buf=2 cplx=0 trans=0 brev=0 bank=0 ne=0 len=16 rows=1 ext=2064 stride=16 addr=33280  ; ld
    15: 04108000080000041000040200024000  ld     buf=2 cplx=0 trans=0 brev=0 bank=0 ne=0 len=16 rows=1 ext=2080 stride=16 addr=33296 sig=ppu  ; ld
    16: 00000000000408004000004002000447  ppu    fn=add rows=16 len=16 a=32768 b=33024 bc=0 p=0 wait=ld|st  ; ppu
    17: 003727c5ac8410004000004002078847  ppu    fn=ln rows=16 len=16 a=32768 b=33280 bc=1 p=9.99999975e-06 wait=ld sig=ld|st  ; ppu
    18: 04000000080000041800400200020a48  st     buf=2 cplx=0 trans=0 brev=0 bank=0 ne=0 len=16 rows=16 ext=2096 stride=16 addr=32768 wait=ld|ppu sig=ld  ; st
    19: 01000000080000049800080200010000  ld     buf=1 cplx=0 trans=0 brev=0 bank=0 ne=0 len=16 rows=2 ext=2352 stride=16 addr=8192  ; ld
    20: 0101000008000004a800080200010000  ld     buf=1 cplx=0 trans=0 brev=0 bank=0 ne=0 len=16 rows=2 ext=2384 stride=16 addr=8224  ; ld
    21: 0102000008000004b800080200010000  ld     buf=1 cplx=0 trans=0 brev=0 bank=0 ne=0 len=16 rows=2 ext=2416 stride=16 addr=8256  ; ld
    22: 0103000008000004c800080200010000  ld     buf=1 cplx=0 trans=0 brev=0 bank=0 ne=0 len=16 rows=2 ext=2448 stride=16 addr=8288  ; ld
    23: 00080000080000041800400201009400  ld     buf=0 cplx=0 trans=0 brev=0 bank=0 ne=4 len=16 rows=16 ext=2096 stride=16 addr=256 wait=st sig=be|st  ; ld
    24: 000000000000200010c1000022048842  bfly   ne=4 logn=4 nrows=4 addr=256 bank=0 ls=3 nst=4 inc=0 rin=0 cb=8192 wait=ld sig=ld|st  ; be
    25: 000800001000000528004002010010c8  st     buf=0 cplx=0 trans=0 brev=0 bank=0 ne=4 len=16 rows=16 ext=2640 stride=32 addr=256 wait=ld|be sig=be  ; st
    26: 0000000008000004d800080200010000  ld     buf=1 cplx=0 trans=0 brev=0 bank=0 ne=0 len=16 rows=2 ext=2480 stride=16 addr=0  ; ld
    27: 0001000008000004e800080200010000  ld     buf=1 cplx=0 trans=0 brev=0 bank=0 ne=0 len=16 rows=2 ext=2512 stride=16 addr=32  ; ld
    28: 0002000008000004f800080200010000  ld     buf=1 cplx=0 trans=0 brev=0 bank=0 ne=0 len=16 rows=2 ext=2544 stride=16 addr=64  ; ld
    29: 00030000080000050800080200010000  ld     buf=1 cplx=0 trans=0 brev=0 bank=0 ne=0 len=16 rows=2 ext=2576 stride=16 addr=96  ; ld
    30: 00080000080000041800400201209000  ld     buf=0 cplx=0 trans=0 brev=0 bank=1 ne=4 len=16 rows=16 ext=2096 stride=16 addr=256 sig=be|st  ; ld
    31: 000000000000000010e1000022048842  bfly   ne=4 logn=4 nrows=4 addr=256 bank=1 ls=3 nst=4 inc=0 rin=0 cb=0 wait=ld sig=ld|st  ; be
    32: 000800001000000530004002012018c8  st     buf=0 cplx=0 trans=0 brev=0 bank=1 ne=4 len=16 rows=16 ext=2656 stride=32 addr=256 wait=ld|be sig=ld|be  ; st
    33: 00000000100000052800400400028600  ld     buf=2 cplx=0 trans=0 brev=0 bank=0 ne=0 len=32 rows=16 ext=2640 stride=32 addr=0 wait=ppu|st sig=st  ; ld
    34: 00100000100000051800040400024000  ld     buf=2 cplx=0 trans=0 brev=0 bank=0 ne=0 len=32 rows=1 ext=2608 stride=32 addr=512 sig=ppu  ; ld
    35: 00000000008010000000008002000447  ppu    fn=add rows=16 len=32 a=0 b=512 bc=1 p=0 wait=ld|st  ; ppu
    36: 00000000000000000000008002038807  ppu    fn=gelu rows=16 len=32 a=0 b=0 bc=0 p=0 sig=ld|st  ; ppu
    37: 00000000100000062800400400026a48  st     buf=2 cplx=0 trans=0 brev=0 bank=0 ne=0 len=32 rows=16 ext=3152 stride=32 addr=0 wait=ld|ppu sig=ld|att|ppu  ; st
    38: 01000000100000072800080400010080  ld     buf=1 cplx=0 trans=0 brev=0 bank=0 ne=0 len=32 rows=2 ext=3664 stride=32 addr=8192 wait=be  ; ld
    39: 01020000100000074800080400010000  ld     buf=1 cplx=0 trans=0 brev=0 bank=0 ne=0 len=32 rows=2 ext=3728 stride=32 addr=8256  ; ld
    40: 01040000100000076800080400010000  ld     buf=1 cplx=0 trans=0 brev=0 bank=0 ne=0 len=32 rows=2 ext=3792 stride=32 addr=8320  ; ld
    41: 01060000100000078800080400010000  ld     buf=1 cplx=0 trans=0 brev=0 bank=0 ne=0 len=32 rows=2 ext=3856 stride=32 addr=8384  ; ld
    42: 0108000010000007a800080400010000  ld     buf=1 cplx=0 trans=0 brev=0 bank=0 ne=0 len=32 rows=2 ext=3920 stride=32 addr=8448  ; ld
    43: 00000000100000062800400401009400  ld     buf=0 cplx=0 trans=0 brev=0 bank=0 ne=4 len=32 rows=16 ext=3152 stride=32 addr=0 wait=st sig=be|st  ; ld
    44: 00000000000020001500000022848c42  bfly   ne=4 logn=5 nrows=4 addr=0 bank=0 ls=4 nst=5 inc=0 rin=0 cb=8192 wait=ld|st sig=ld|st  ; be
    45: 0000000010000007d0004004010018c8  st     buf=0 cplx=0 trans=0 brev=0 bank=0 ne=4 len=32 rows=16 ext=4000 stride=32 addr=0 wait=ld|be sig=ld|be  ; st
    46: 0400000010000007d000400200028600  ld     buf=2 cplx=0 trans=0 brev=0 bank=0 ne=0 len=16 rows=16 ext=4000 stride=32 addr=32768 wait=ppu|st sig=st  ; ld
    47: 0400000008000008d000400200024848  st     buf=2 cplx=0 trans=0 brev=0 bank=0 ne=0 len=16 rows=16 ext=4512 stride=16 addr=32768 wait=ld sig=ld|ppu  ; st
    48: 0000000008000008d000400200028600  ld     buf=2 cplx=0 trans=0 brev=0 bank=0 ne=0 len=16 rows=16 ext=4512 stride=16 addr=0 wait=ppu|st sig=st  ; ld
    49: 0008000008000007c800040200024000  ld     buf=2 cplx=0 trans=0 brev=0 bank=0 ne=0 len=16 rows=1 ext=3984 stride=16 addr=256 sig=ppu  ; ld
    50: 00000000008008000000004002008c47  ppu    fn=add rows=16 len=16 a=0 b=256 bc=1 p=0 wait=ld|st sig=ld|st  ; ppu
    51: 00000000080000095000400200024a48  st     buf=2 cplx=0 trans=0 brev=0 bank=0 ne=0 len=16 rows=16 ext=4768 stride=16 addr=0 wait=ld|ppu sig=ld|ppu  ; st
    52: 04000000080000041800400200028000  ld     buf=2 cplx=0 trans=0 brev=0 bank=0 ne=0 len=16 rows=16 ext=2096 stride=16 addr=32768 sig=st  ; ld
    53: 04080000080000095000400200024400  ld     buf=2 cplx=0 trans=0 brev=0 bank=0 ne=0 len=16 rows=16 ext=4768 stride=16 addr=33024 wait=st sig=ppu  ; ld
    54: 0410000008000009d000040200020000  ld     buf=2 cplx=0 trans=0 brev=0 bank=0 ne=0 len=16 rows=1 ext=5024 stride=16 addr=33280  ; ld
    55: 0410800008000009d800040200024000  ld     buf=2 cplx=0 trans=0 brev=0 bank=0 ne=0 len=16 rows=1 ext=5040 stride=16 addr=33296 sig=ppu  ; ld
    56: 00000000000408004000004002000447  ppu    fn=add rows=16 len=16 a=32768 b=33024 bc=0 p=0 wait=ld|st  ; ppu
    57: 003727c5ac8410004000004002078847  ppu    fn=ln rows=16 len=16 a=32768 b=33280 bc=1 p=9.99999975e-06 wait=ld sig=ld|st  ; ppu
    58: 0400000008000009e000400200024a48  st     buf=2 cplx=0 trans=0 brev=0 bank=0 ne=0 len=16 rows=16 ext=5056 stride=16 addr=32768 wait=ld|ppu sig=ld|ppu  ; st
    59: 000000000800000a6000080200010080  ld     buf=1 cplx=0 trans=0 brev=0 bank=0 ne=0 len=16 rows=2 ext=5312 stride=16 addr=0 wait=be  ; ld
    60: 000100000800000a7000080200010000  ld     buf=1 cplx=0 trans=0 brev=0 bank=0 ne=0 len=16 rows=2 ext=5344 stride=16 addr=32  ; ld
    61: 000200000800000a8000080200010000  ld     buf=1 cplx=0 trans=0 brev=0 bank=0 ne=0 len=16 rows=2 ext=5376 stride=16 addr=64  ; ld
    62: 000300000800000a9000080200010000  ld     buf=1 cplx=0 trans=0 brev=0 bank=0 ne=0 len=16 rows=2 ext=5408 stride=16 addr=96  ; ld
    63: 0000000008000009e000400201209400  ld     buf=0 cplx=0 trans=0 brev=0 bank=1 ne=4 len=16 rows=16 ext=5056 stride=16 addr=0 wait=st sig=be|st  ; ld
    64: 000000000000000010e0000022048842  bfly   ne=4 logn=4 nrows=4 addr=0 bank=1 ls=3 nst=4 inc=0 rin=0 cb=0 wait=ld sig=ld|st  ; be
    65: 000000000800000aa8004002012018c8  st     buf=0 cplx=0 trans=0 brev=0 bank=1 ne=4 len=16 rows=16 ext=5456 stride=16 addr=0 wait=ld|be sig=ld|be  ; st
    66: 000000000800000aa800400200028600  ld     buf=2 cplx=0 trans=0 brev=0 bank=0 ne=0 len=16 rows=16 ext=5456 stride=16 addr=0 wait=ppu|st sig=st  ; ld
    67: 000800000800000aa000040200024000  ld     buf=2 cplx=0 trans=0 brev=0 bank=0 ne=0 len=16 rows=1 ext=5440 stride=16 addr=256 sig=ppu  ; ld
    68: 00000000008008000000004002008c47  ppu    fn=add rows=16 len=16 a=0 b=256 bc=1 p=0 wait=ld|st sig=ld|st  ; ppu
    69: 000000000800000b2800400200024248  st     buf=2 cplx=0 trans=0 brev=0 bank=0 ne=0 len=16 rows=16 ext=5712 stride=16 addr=0 wait=ld|ppu sig=ppu  ; st
    70: 010000000800000ba800080200010080  ld     buf=1 cplx=0 trans=0 brev=0 bank=0 ne=0 len=16 rows=2 ext=5968 stride=16 addr=8192 wait=be  ; ld
    71: 010100000800000bb800080200010000  ld     buf=1 cplx=0 trans=0 brev=0 bank=0 ne=0 len=16 rows=2 ext=6000 stride=16 addr=8224  ; ld
    72: 010200000800000bc800080200010000  ld     buf=1 cplx=0 trans=0 brev=0 bank=0 ne=0 len=16 rows=2 ext=6032 stride=16 addr=8256  ; ld
    73: 010300000800000bd800080200010000  ld     buf=1 cplx=0 trans=0 brev=0 bank=0 ne=0 len=16 rows=2 ext=6064 stride=16 addr=8288  ; ld
    74: 0008000008000009e000400201009000  ld     buf=0 cplx=0 trans=0 brev=0 bank=0 ne=4 len=16 rows=16 ext=5056 stride=16 addr=256 sig=be|st  ; ld
    75: 000000000000200010c1000022048c42  bfly   ne=4 logn=4 nrows=4 addr=256 bank=0 ls=3 nst=4 inc=0 rin=0 cb=8192 wait=ld|st sig=ld|st  ; be
    76: 000800000800000bf0004002010018c8  st     buf=0 cplx=0 trans=0 brev=0 bank=0 ne=4 len=16 rows=16 ext=6112 stride=16 addr=256 wait=ld|be sig=ld|be  ; st
    77: 040000000800000bf000400200028600  ld     buf=2 cplx=0 trans=0 brev=0 bank=0 ne=0 len=16 rows=16 ext=6112 stride=16 addr=32768 wait=ppu|st sig=st  ; ld
    78: 040800000800000be800040200024000  ld     buf=2 cplx=0 trans=0 brev=0 bank=0 ne=0 len=16 rows=1 ext=6096 stride=16 addr=33024 sig=ppu  ; ld
    79: 00000000008408004000004002008c47  ppu    fn=add rows=16 len=16 a=32768 b=33024 bc=1 p=0 wait=ld|st sig=ld|st  ; ppu
    80: 040000000800000c7000400200020248  st     buf=2 cplx=0 trans=0 brev=0 bank=0 ne=0 len=16 rows=16 ext=6368 stride=16 addr=32768 wait=ld|ppu  ; st
    81: 000000000800000cf000080200010080  ld     buf=1 cplx=0 trans=0 brev=0 bank=0 ne=0 len=16 rows=2 ext=6624 stride=16 addr=0 wait=be  ; ld
    82: 000100000800000d0000080200010000  ld     buf=1 cplx=0 trans=0 brev=0 bank=0 ne=0 len=16 rows=2 ext=6656 stride=16 addr=32  ; ld
    83: 000200000800000d1000080200010000  ld     buf=1 cplx=0 trans=0 brev=0 bank=0 ne=0 len=16 rows=2 ext=6688 stride=16 addr=64  ; ld
    84: 000300000800000d2000080200010000  ld     buf=1 cplx=0 trans=0 brev=0 bank=0 ne=0 len=16 rows=2 ext=6720 stride=16 addr=96  ; ld
    85: 0008000008000009e000400201209000  ld     buf=0 cplx=0 trans=0 brev=0 bank=1 ne=4 len=16 rows=16 ext=5056 stride=16 addr=256 sig=be|st  ; ld
    86: 000000000000000010e1000022048c42  bfly   ne=4 logn=4 nrows=4 addr=256 bank=1 ls=3 nst=4 inc=0 rin=0 cb=0 wait=ld|st sig=ld|st  ; be
    87: 000800000800000d38004002012018c8  st     buf=0 cplx=0 trans=0 brev=0 bank=1 ne=4 len=16 rows=16 ext=6768 stride=16 addr=256 wait=ld|be sig=ld|be  ; st
    88: 000000000800000d3800400200028600  ld     buf=2 cplx=0 trans=0 brev=0 bank=0 ne=0 len=16 rows=16 ext=6768 stride=16 addr=0 wait=ppu|st sig=st  ; ld
    89: 000800000800000d3000040200024000  ld     buf=2 cplx=0 trans=0 brev=0 bank=0 ne=0 len=16 rows=1 ext=6752 stride=16 addr=256 sig=ppu  ; ld
    90: 0000000000800800000000400200ac47  ppu    fn=add rows=16 len=16 a=0 b=256 bc=1 p=0 wait=ld|st sig=ld|att|st  ; ppu
    91: 000000000800000db800400200020a48  st     buf=2 cplx=0 trans=0 brev=0 bank=0 ne=0 len=16 rows=16 ext=7024 stride=16 addr=0 wait=ld|ppu sig=ld  ; st
    92: 040000000800000b2800400100028200  ld     buf=2 cplx=0 trans=0 brev=0 bank=0 ne=0 len=8 rows=16 ext=5712 stride=16 addr=32768 wait=ppu sig=st  ; ld
    93: 040000000400000e3800400100020848  st     buf=2 cplx=0 trans=0 brev=0 bank=0 ne=0 len=8 rows=16 ext=7280 stride=8 addr=32768 wait=ld sig=ld  ; st
    94: 000000000800000b2c00400100028600  ld     buf=2 cplx=0 trans=0 brev=0 bank=0 ne=0 len=8 rows=16 ext=5720 stride=16 addr=0 wait=ppu|st sig=st  ; ld
    95: 000000000400000e7800400100020848  st     buf=2 cplx=0 trans=0 brev=0 bank=0 ne=0 len=8 rows=16 ext=7408 stride=8 addr=0 wait=ld sig=ld  ; st
    96: 040000000800000c7000400100028400  ld     buf=2 cplx=0 trans=0 brev=0 bank=0 ne=0 len=8 rows=16 ext=6368 stride=16 addr=32768 wait=st sig=st  ; ld
    97: 040000000400000eb800400100020848  st     buf=2 cplx=0 trans=0 brev=0 bank=0 ne=0 len=8 rows=16 ext=7536 stride=8 addr=32768 wait=ld sig=ld  ; st
    98: 000000000800000c7400400100028400  ld     buf=2 cplx=0 trans=0 brev=0 bank=0 ne=0 len=8 rows=16 ext=6376 stride=16 addr=0 wait=st sig=st  ; ld
    99: 000000000400000ef800400100020848  st     buf=2 cplx=0 trans=0 brev=0 bank=0 ne=0 len=8 rows=16 ext=7664 stride=8 addr=0 wait=ld sig=ld  ; st
   100: 040000000800000db800400100028400  ld     buf=2 cplx=0 trans=0 brev=0 bank=0 ne=0 len=8 rows=16 ext=7024 stride=16 addr=32768 wait=st sig=st  ; ld
   101: 040000000400000f3800400100020048  st     buf=2 cplx=0 trans=0 brev=0 bank=0 ne=0 len=8 rows=16 ext=7792 stride=8 addr=32768 wait=ld  ; st
   102: 000000000800000dbc00400100028400  ld     buf=2 cplx=0 trans=0 brev=0 bank=0 ne=0 len=8 rows=16 ext=7032 stride=16 addr=0 wait=st sig=st  ; ld
   103: 000000000400000f7800400100020848  st     buf=2 cplx=0 trans=0 brev=0 bank=0 ne=0 len=8 rows=16 ext=7920 stride=8 addr=0 wait=ld sig=ld  ; st
   104: 000000000400000e3800400100020400  ld     buf=2 cplx=0 trans=0 brev=0 bank=0 ne=0 len=8 rows=16 ext=7280 stride=8 addr=0 wait=st  ; ld
   105: 000400000400000eb800400100020000  ld     buf=2 cplx=0 trans=0 brev=0 bank=0 ne=0 len=8 rows=16 ext=7536 stride=8 addr=128  ; ld
   106: 000800000400000f3800400100022000  ld     buf=2 cplx=0 trans=0 brev=0 bank=0 ne=0 len=8 rows=16 ext=7792 stride=8 addr=256 sig=att  ; ld
   107: 1f5a827980200200100018000000ce46  attn   q=0 o=384 s=16 t=16 dh=8 scale=0.353553385 wait=ld|ppu|st sig=ld|ppu|st  ; att
   108: 000c00000400000fb800400100020108  st     buf=2 cplx=0 trans=0 brev=0 bank=0 ne=0 len=8 rows=16 ext=8048 stride=8 addr=384 wait=att  ; st
   109: 040000000400000e7800400100020000  ld     buf=2 cplx=0 trans=0 brev=0 bank=0 ne=0 len=8 rows=16 ext=7408 stride=8 addr=32768  ; ld
   110: 040400000400000ef800400100020000  ld     buf=2 cplx=0 trans=0 brev=0 bank=0 ne=0 len=8 rows=16 ext=7664 stride=8 addr=32896  ; ld
   111: 040800000400000f7800400100022000  ld     buf=2 cplx=0 trans=0 brev=0 bank=0 ne=0 len=8 rows=16 ext=7920 stride=8 addr=33024 sig=att  ; ld
   112: 1f5a827980200200100818008000c846  attn   q=32768 o=33152 s=16 t=16 dh=8 scale=0.353553385 wait=ld sig=ld|ppu|st  ; att
   113: 040c00000400000ff800400100020908  st     buf=2 cplx=0 trans=0 brev=0 bank=0 ne=0 len=8 rows=16 ext=8176 stride=8 addr=33152 wait=att sig=ld  ; st
   114: 000000004000000fb800080100028500  ld     buf=2 cplx=0 trans=0 brev=0 bank=0 ne=0 len=8 rows=2 ext=8048 stride=128 addr=0 wait=att|st sig=st  ; ld
   115: 00000000040000103800080100020848  st     buf=2 cplx=0 trans=0 brev=0 bank=0 ne=0 len=8 rows=2 ext=8304 stride=8 addr=0 wait=ld sig=ld  ; st
   116: 040000004000000fbc00080100028100  ld     buf=2 cplx=0 trans=0 brev=0 bank=0 ne=0 len=8 rows=2 ext=8056 stride=128 addr=32768 wait=att sig=st  ; ld
   117: 04000000040000104000080100020848  st     buf=2 cplx=0 trans=0 brev=0 bank=0 ne=0 len=8 rows=2 ext=8320 stride=8 addr=32768 wait=ld sig=ld  ; st
   118: 000000004000000fc000080100028400  ld     buf=2 cplx=0 trans=0 brev=0 bank=0 ne=0 len=8 rows=2 ext=8064 stride=128 addr=0 wait=st sig=st  ; ld
   119: 00000000040000104800080100020848  st     buf=2 cplx=0 trans=0 brev=0 bank=0 ne=0 len=8 rows=2 ext=8336 stride=8 addr=0 wait=ld sig=ld  ; st
   120: 040000004000000fc400080100028400  ld     buf=2 cplx=0 trans=0 brev=0 bank=0 ne=0 len=8 rows=2 ext=8072 stride=128 addr=32768 wait=st sig=st  ; ld
   121: 04000000040000105000080100020848  st     buf=2 cplx=0 trans=0 brev=0 bank=0 ne=0 len=8 rows=2 ext=8352 stride=8 addr=32768 wait=ld sig=ld  ; st
   122: 000000004000000fc800080100028400  ld     buf=2 cplx=0 trans=0 brev=0 bank=0 ne=0 len=8 rows=2 ext=8080 stride=128 addr=0 wait=st sig=st  ; ld
   123: 00000000040000105800080100020848  st     buf=2 cplx=0 trans=0 brev=0 bank=0 ne=0 len=8 rows=2 ext=8368 stride=8 addr=0 wait=ld sig=ld  ; st
   124: 040000004000000fcc00080100028400  ld     buf=2 cplx=0 trans=0 brev=0 bank=0 ne=0 len=8 rows=2 ext=8088 stride=128 addr=32768 wait=st sig=st  ; ld
   125: 04000000040000106000080100020848  st     buf=2 cplx=0 trans=0 brev=0 bank=0 ne=0 len=8 rows=2 ext=8384 stride=8 addr=32768 wait=ld sig=ld  ; st
   126: 000000004000000fd000080100028400  ld     buf=2 cplx=0 trans=0 brev=0 bank=0 ne=0 len=8 rows=2 ext=8096 stride=128 addr=0 wait=st sig=st  ; ld
   127: 00000000040000106800080100020848  st     buf=2 cplx=0 trans=0 brev=0 bank=0 ne=0 len=8 rows=2 ext=8400 stride=8 addr=0 wait=ld sig=ld  ; st
   128: 040000004000000fd400080100028400  ld     buf=2 cplx=0 trans=0 brev=0 bank=0 ne=0 len=8 rows=2 ext=8104 stride=128 addr=32768 wait=st sig=st  ; ld
   129: 04000000040000107000080100020848  st     buf=2 cplx=0 trans=0 brev=0 bank=0 ne=0 len=8 rows=2 ext=8416 stride=8 addr=32768 wait=ld sig=ld  ; st
   130: 000000004000000fd800080100028400  ld     buf=2 cplx=0 trans=0 brev=0 bank=0 ne=0 len=8 rows=2 ext=8112 stride=128 addr=0 wait=st sig=st  ; ld
   131: 00000000040000107800080100020848  st     buf=2 cplx=0 trans=0 brev=0 bank=0 ne=0 len=8 rows=2 ext=8432 stride=8 addr=0 wait=ld sig=ld  ; st
   132: 040000004000000fdc00080100028400  ld     buf=2 cplx=0 trans=0 brev=0 bank=0 ne=0 len=8 rows=2 ext=8120 stride=128 addr=32768 wait=st sig=st  ; ld
   133: 04000000040000108000080100020848  st     buf=2 cplx=0 trans=0 brev=0 bank=0 ne=0 len=8 rows=2 ext=8448 stride=8 addr=32768 wait=ld sig=ld  ; st
   134: 000000004000000fe000080100028400  ld     buf=2 cplx=0 trans=0 brev=0 bank=0 ne=0 len=8 rows=2 ext=8128 stride=128 addr=0 wait=st sig=st  ; ld
   135: 00000000040000108800080100020848  st     buf=2 cplx=0 trans=0 brev=0 bank=0 ne=0 len=8 rows=2 ext=8464 stride=8 addr=0 wait=ld sig=ld  ; st
   136: 040000004000000fe400080100028400  ld     buf=2 cplx=0 trans=0 brev=0 bank=0 ne=0 len=8 rows=2 ext=8136 stride=128 addr=32768 wait=st sig=st  ; ld
   137: 04000000040000109000080100020848  st     buf=2 cplx=0 trans=0 brev=0 bank=0 ne=0 len=8 rows=2 ext=8480 stride=8 addr=32768 wait=ld sig=ld  ; st
   138: 000000004000000fe800080100028400  ld     buf=2 cplx=0 trans=0 brev=0 bank=0 ne=0 len=8 rows=2 ext=8144 stride=128 addr=0 wait=st sig=st  ; ld
   139: 00000000040000109800080100020848  st     buf=2 cplx=0 trans=0 brev=0 bank=0 ne=0 len=8 rows=2 ext=8496 stride=8 addr=0 wait=ld sig=ld  ; st
   140: 040000004000000fec00080100028400  ld     buf=2 cplx=0 trans=0 brev=0 bank=0 ne=0 len=8 rows=2 ext=8152 stride=128 addr=32768 wait=st sig=st  ; ld
   141: 0400000004000010a000080100020848  st     buf=2 cplx=0 trans=0 brev=0 bank=0 ne=0 len=8 rows=2 ext=8512 stride=8 addr=32768 wait=ld sig=ld  ; st
   142: 000000004000000ff000080100028400  ld     buf=2 cplx=0 trans=0 brev=0 bank=0 ne=0 len=8 rows=2 ext=8160 stride=128 addr=0 wait=st sig=st  ; ld
   143: 0000000004000010a800080100024048  st     buf=2 cplx=0 trans=0 brev=0 bank=0 ne=0 len=8 rows=2 ext=8528 stride=8 addr=0 wait=ld sig=ppu  ; st
   144: 040000004000000ff400080100028400  ld     buf=2 cplx=0 trans=0 brev=0 bank=0 ne=0 len=8 rows=2 ext=8168 stride=128 addr=32768 wait=st sig=st  ; ld
   145: 0400000004000010b000080100024848  st     buf=2 cplx=0 trans=0 brev=0 bank=0 ne=0 len=8 rows=2 ext=8544 stride=8 addr=32768 wait=ld sig=ld|ppu  ; st
   146: 0100000008000010b800080200010080  ld     buf=1 cplx=0 trans=0 brev=0 bank=0 ne=0 len=16 rows=2 ext=8560 stride=16 addr=8192 wait=be  ; ld
   147: 0101000008000010c800080200010000  ld     buf=1 cplx=0 trans=0 brev=0 bank=0 ne=0 len=16 rows=2 ext=8592 stride=16 addr=8224  ; ld
   148: 0102000008000010d800080200010000  ld     buf=1 cplx=0 trans=0 brev=0 bank=0 ne=0 len=16 rows=2 ext=8624 stride=16 addr=8256  ; ld
   149: 0103000008000010e800080200010000  ld     buf=1 cplx=0 trans=0 brev=0 bank=0 ne=0 len=16 rows=2 ext=8656 stride=16 addr=8288  ; ld
   150: 00000000080000103800400201009400  ld     buf=0 cplx=0 trans=0 brev=0 bank=0 ne=4 len=16 rows=16 ext=8304 stride=16 addr=0 wait=st sig=be|st  ; ld
   151: 000000000000200010c0000022048c42  bfly   ne=4 logn=4 nrows=4 addr=0 bank=0 ls=3 nst=4 inc=0 rin=0 cb=8192 wait=ld|st sig=ld|st  ; be
   152: 000000000800001100004002010008c8  st     buf=0 cplx=0 trans=0 brev=0 bank=0 ne=4 len=16 rows=16 ext=8704 stride=16 addr=0 wait=ld|be sig=ld  ; st
   153: 00000000080000110000400200028400  ld     buf=2 cplx=0 trans=0 brev=0 bank=0 ne=0 len=16 rows=16 ext=8704 stride=16 addr=0 wait=st sig=st  ; ld
   154: 0008000008000010f800040200024000  ld     buf=2 cplx=0 trans=0 brev=0 bank=0 ne=0 len=16 rows=1 ext=8688 stride=16 addr=256 sig=ppu  ; ld
   155: 00000000008008000000004002008d47  ppu    fn=add rows=16 len=16 a=0 b=256 bc=1 p=0 wait=ld|att|st sig=ld|st  ; ppu
   156: 00000000080000118000400200024a48  st     buf=2 cplx=0 trans=0 brev=0 bank=0 ne=0 len=16 rows=16 ext=8960 stride=16 addr=0 wait=ld|ppu sig=ld|ppu  ; st
   157: 0400000008000009e000400200028000  ld     buf=2 cplx=0 trans=0 brev=0 bank=0 ne=0 len=16 rows=16 ext=5056 stride=16 addr=32768 sig=st  ; ld
   158: 04080000080000118000400200024400  ld     buf=2 cplx=0 trans=0 brev=0 bank=0 ne=0 len=16 rows=16 ext=8960 stride=16 addr=33024 wait=st sig=ppu  ; ld
   159: 04100000080000120000040200020000  ld     buf=2 cplx=0 trans=0 brev=0 bank=0 ne=0 len=16 rows=1 ext=9216 stride=16 addr=33280  ; ld
   160: 04108000080000120800040200024000  ld     buf=2 cplx=0 trans=0 brev=0 bank=0 ne=0 len=16 rows=1 ext=9232 stride=16 addr=33296 sig=ppu  ; ld
   161: 00000000000408004000004002000547  ppu    fn=add rows=16 len=16 a=32768 b=33024 bc=0 p=0 wait=ld|att|st  ; ppu
   162: 003727c5ac8410004000004002078847  ppu    fn=ln rows=16 len=16 a=32768 b=33280 bc=1 p=9.99999975e-06 wait=ld sig=ld|st  ; ppu
   163: 04000000080000121000400200020a48  st     buf=2 cplx=0 trans=0 brev=0 bank=0 ne=0 len=16 rows=16 ext=9248 stride=16 addr=32768 wait=ld|ppu sig=ld  ; st
   164: 00000000080000129000080200010080  ld     buf=1 cplx=0 trans=0 brev=0 bank=0 ne=0 len=16 rows=2 ext=9504 stride=16 addr=0 wait=be  ; ld
   165: 0001000008000012a000080200010000  ld     buf=1 cplx=0 trans=0 brev=0 bank=0 ne=0 len=16 rows=2 ext=9536 stride=16 addr=32  ; ld
   166: 0002000008000012b000080200010000  ld     buf=1 cplx=0 trans=0 brev=0 bank=0 ne=0 len=16 rows=2 ext=9568 stride=16 addr=64  ; ld
   167: 0003000008000012c000080200010000  ld     buf=1 cplx=0 trans=0 brev=0 bank=0 ne=0 len=16 rows=2 ext=9600 stride=16 addr=96  ; ld
   168: 00000000080000121000400201209400  ld     buf=0 cplx=0 trans=0 brev=0 bank=1 ne=4 len=16 rows=16 ext=9248 stride=16 addr=0 wait=st sig=be|st  ; ld
   169: 000000000000000010e0000022048c42  bfly   ne=4 logn=4 nrows=4 addr=0 bank=1 ls=3 nst=4 inc=0 rin=0 cb=0 wait=ld|st sig=ld|st  ; be
   170: 000000001000001320004002012000c8  st     buf=0 cplx=0 trans=0 brev=0 bank=1 ne=4 len=16 rows=16 ext=9792 stride=32 addr=0 wait=ld|be  ; st
   171: 0100000008000012d000080200010080  ld     buf=1 cplx=0 trans=0 brev=0 bank=0 ne=0 len=16 rows=2 ext=9632 stride=16 addr=8192 wait=be  ; ld
   172: 0101000008000012e000080200010000  ld     buf=1 cplx=0 trans=0 brev=0 bank=0 ne=0 len=16 rows=2 ext=9664 stride=16 addr=8224  ; ld
   173: 0102000008000012f000080200010000  ld     buf=1 cplx=0 trans=0 brev=0 bank=0 ne=0 len=16 rows=2 ext=9696 stride=16 addr=8256  ; ld
   174: 01030000080000130000080200010000  ld     buf=1 cplx=0 trans=0 brev=0 bank=0 ne=0 len=16 rows=2 ext=9728 stride=16 addr=8288  ; ld
   175: 00080000080000121000400201009000  ld     buf=0 cplx=0 trans=0 brev=0 bank=0 ne=4 len=16 rows=16 ext=9248 stride=16 addr=256 sig=be|st  ; ld
   176: 000000000000200010c1000022048442  bfly   ne=4 logn=4 nrows=4 addr=256 bank=0 ls=3 nst=4 inc=0 rin=0 cb=8192 wait=ld|st sig=st  ; be
   177: 000800001000001328004002010008c8  st     buf=0 cplx=0 trans=0 brev=0 bank=0 ne=4 len=16 rows=16 ext=9808 stride=32 addr=256 wait=ld|be sig=ld  ; st
   178: 00000000100000132000400400028600  ld     buf=2 cplx=0 trans=0 brev=0 bank=0 ne=0 len=32 rows=16 ext=9792 stride=32 addr=0 wait=ppu|st sig=st  ; ld
   179: 00100000100000131000040400024000  ld     buf=2 cplx=0 trans=0 brev=0 bank=0 ne=0 len=32 rows=1 ext=9760 stride=32 addr=512 sig=ppu  ; ld
   180: 00000000008010000000008002000447  ppu    fn=add rows=16 len=32 a=0 b=512 bc=1 p=0 wait=ld|st  ; ppu
   181: 00000000000000000000008002038807  ppu    fn=gelu rows=16 len=32 a=0 b=0 bc=0 p=0 sig=ld|st  ; ppu
   182: 00000000100000142000400400024a48  st     buf=2 cplx=0 trans=0 brev=0 bank=0 ne=0 len=32 rows=16 ext=10304 stride=32 addr=0 wait=ld|ppu sig=ld|ppu  ; st
   183: 00000000100000152000080400010080  ld     buf=1 cplx=0 trans=0 brev=0 bank=0 ne=0 len=32 rows=2 ext=10816 stride=32 addr=0 wait=be  ; ld
   184: 00020000100000154000080400010000  ld     buf=1 cplx=0 trans=0 brev=0 bank=0 ne=0 len=32 rows=2 ext=10880 stride=32 addr=64  ; ld
   185: 00040000100000156000080400010000  ld     buf=1 cplx=0 trans=0 brev=0 bank=0 ne=0 len=32 rows=2 ext=10944 stride=32 addr=128  ; ld
   186: 00060000100000158000080400010000  ld     buf=1 cplx=0 trans=0 brev=0 bank=0 ne=0 len=32 rows=2 ext=11008 stride=32 addr=192  ; ld
   187: 0008000010000015a000080400010000  ld     buf=1 cplx=0 trans=0 brev=0 bank=0 ne=0 len=32 rows=2 ext=11072 stride=32 addr=256  ; ld
   188: 00080000100000142000400401209400  ld     buf=0 cplx=0 trans=0 brev=0 bank=1 ne=4 len=32 rows=16 ext=10304 stride=32 addr=256 wait=st sig=be|st  ; ld
   189: 00000000000000001521000022848442  bfly   ne=4 logn=5 nrows=4 addr=256 bank=1 ls=4 nst=5 inc=0 rin=0 cb=0 wait=ld|st sig=st  ; be
   190: 0008000010000015c8004004012008c8  st     buf=0 cplx=0 trans=0 brev=0 bank=1 ne=4 len=32 rows=16 ext=11152 stride=32 addr=256 wait=ld|be sig=ld  ; st
   191: 0400000010000015c800400200028600  ld     buf=2 cplx=0 trans=0 brev=0 bank=0 ne=0 len=16 rows=16 ext=11152 stride=32 addr=32768 wait=ppu|st sig=st  ; ld
   192: 0400000008000016c800400200024848  st     buf=2 cplx=0 trans=0 brev=0 bank=0 ne=0 len=16 rows=16 ext=11664 stride=16 addr=32768 wait=ld sig=ld|ppu  ; st
   193: 0000000008000016c800400200028600  ld     buf=2 cplx=0 trans=0 brev=0 bank=0 ne=0 len=16 rows=16 ext=11664 stride=16 addr=0 wait=ppu|st sig=st  ; ld
   194: 0008000008000015c000040200024000  ld     buf=2 cplx=0 trans=0 brev=0 bank=0 ne=0 len=16 rows=1 ext=11136 stride=16 addr=256 sig=ppu  ; ld
   195: 00000000008008000000004002008c47  ppu    fn=add rows=16 len=16 a=0 b=256 bc=1 p=0 wait=ld|st sig=ld|st  ; ppu
   196: 00000000080000174800400200026a48  st     buf=2 cplx=0 trans=0 brev=0 bank=0 ne=0 len=16 rows=16 ext=11920 stride=16 addr=0 wait=ld|ppu sig=ld|att|ppu  ; st
   197: 04000000080000121000400200028000  ld     buf=2 cplx=0 trans=0 brev=0 bank=0 ne=0 len=16 rows=16 ext=9248 stride=16 addr=32768 sig=st  ; ld
   198: 04080000080000174800400200024400  ld     buf=2 cplx=0 trans=0 brev=0 bank=0 ne=0 len=16 rows=16 ext=11920 stride=16 addr=33024 wait=st sig=ppu  ; ld
   199: 0410000008000017c800040200020000  ld     buf=2 cplx=0 trans=0 brev=0 bank=0 ne=0 len=16 rows=1 ext=12176 stride=16 addr=33280  ; ld
   200: 0410800008000017d000040200024000  ld     buf=2 cplx=0 trans=0 brev=0 bank=0 ne=0 len=16 rows=1 ext=12192 stride=16 addr=33296 sig=ppu  ; ld
   201: 00000000000408004000004002000447  ppu    fn=add rows=16 len=16 a=32768 b=33024 bc=0 p=0 wait=ld|st  ; ppu
   202: 003727c5ac8410004000004002078047  ppu    fn=ln rows=16 len=16 a=32768 b=33280 bc=1 p=9.99999975e-06 wait=ld sig=st  ; ppu
   203: 0400000008000017d800400200020a48  st     buf=2 cplx=0 trans=0 brev=0 bank=0 ne=0 len=16 rows=16 ext=12208 stride=16 addr=32768 wait=ld|ppu sig=ld  ; st
   204: 0000000008000017d80040020002c600  ld     buf=2 cplx=0 trans=0 brev=0 bank=0 ne=0 len=16 rows=16 ext=12208 stride=16 addr=0 wait=ppu|st sig=ppu|st  ; ld
   205: 0000000000000800000000400208a847  ppu    fn=mean rows=16 len=16 a=0 b=256 bc=0 p=0 wait=ld sig=ld|att|st  ; ppu
   206: 00080000080000185800040200020a08  st     buf=2 cplx=0 trans=0 brev=0 bank=0 ne=0 len=16 rows=1 ext=12464 stride=16 addr=256 wait=ppu sig=ld  ; st
   207: 00000000080000186000100200020200  ld     buf=2 cplx=0 trans=0 brev=0 bank=0 ne=0 len=16 rows=4 ext=12480 stride=16 addr=0 wait=ppu  ; ld
   208: 00020000080000185800040200022400  ld     buf=2 cplx=0 trans=0 brev=0 bank=0 ne=0 len=16 rows=1 ext=12464 stride=16 addr=64 wait=st sig=att  ; ld
   209: 0008010020001000500000000040c645  mm     a=64 b=0 c=80 m=1 k=16 n=4 tb=1 wait=ld|ppu|st sig=ppu|st  ; att
   210: 0002a000020000188000040080024000  ld     buf=2 cplx=0 trans=0 brev=0 bank=0 ne=0 len=4 rows=1 ext=12544 stride=4 addr=84 sig=ppu  ; ld
   211: 00000000008002a00028001000208547  ppu    fn=add rows=1 len=4 a=80 b=84 bc=1 p=0 wait=ld|att|st sig=st  ; ppu
   212: 00028000020000188800040080020348  st     buf=2 cplx=0 trans=0 brev=0 bank=0 ne=0 len=4 rows=1 ext=12560 stride=4 addr=80 wait=ld|att|ppu  ; st
