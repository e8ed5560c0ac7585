// ESC/POS and StarPRNT stream reader and receipt recognition (receipt_parser.h). Command lengths
// are from Epson's "ESC/POS Command Reference" (TM-series printers) and Star Micronics'
// "StarPRNT Command Specifications" / "STAR Line Mode Command Specifications"; code pages from
// Python's codecs.
#include "transactions/receipt_parser.h"

#include <algorithm>
#include <utility>

#include "core/text.h"
#include "transactions/card_mask.h"

namespace vigil::transactions {
namespace {

constexpr uint8_t kLf = 0x0A, kHt = 0x09, kFf = 0x0C, kCr = 0x0D;
constexpr uint8_t kEsc = 0x1B, kGs = 0x1D, kFs = 0x1C, kDle = 0x10;
constexpr uint8_t kEot = 0x04, kEnq = 0x05, kDc4 = 0x14;
// Star's: drawer drives (BEL, FS, SUB, EM), cancel the line (CAN), vertical tab, the barcode
// data's end (RS), double-width on (SO), ESC ACK SOH (status).
constexpr uint8_t kBel = 0x07, kSub = 0x1A, kEm = 0x19, kCan = 0x18, kVt = 0x0B, kRs = 0x1E;
constexpr uint8_t kSo = 0x0E, kAck = 0x06, kSoh = 0x01;

// The upper halves (0x80-0xFF) of the code pages ESC t selects, as Unicode code points.
struct CodePage {
  int n;
  std::array<char16_t, 128> upper;
};
// clang-format off
constexpr CodePage kCodePages[] = {
    // ESC t 0: CP437
    {0, {{
     0x00C7, 0x00FC, 0x00E9, 0x00E2, 0x00E4, 0x00E0, 0x00E5, 0x00E7,
     0x00EA, 0x00EB, 0x00E8, 0x00EF, 0x00EE, 0x00EC, 0x00C4, 0x00C5,
     0x00C9, 0x00E6, 0x00C6, 0x00F4, 0x00F6, 0x00F2, 0x00FB, 0x00F9,
     0x00FF, 0x00D6, 0x00DC, 0x00A2, 0x00A3, 0x00A5, 0x20A7, 0x0192,
     0x00E1, 0x00ED, 0x00F3, 0x00FA, 0x00F1, 0x00D1, 0x00AA, 0x00BA,
     0x00BF, 0x2310, 0x00AC, 0x00BD, 0x00BC, 0x00A1, 0x00AB, 0x00BB,
     0x2591, 0x2592, 0x2593, 0x2502, 0x2524, 0x2561, 0x2562, 0x2556,
     0x2555, 0x2563, 0x2551, 0x2557, 0x255D, 0x255C, 0x255B, 0x2510,
     0x2514, 0x2534, 0x252C, 0x251C, 0x2500, 0x253C, 0x255E, 0x255F,
     0x255A, 0x2554, 0x2569, 0x2566, 0x2560, 0x2550, 0x256C, 0x2567,
     0x2568, 0x2564, 0x2565, 0x2559, 0x2558, 0x2552, 0x2553, 0x256B,
     0x256A, 0x2518, 0x250C, 0x2588, 0x2584, 0x258C, 0x2590, 0x2580,
     0x03B1, 0x00DF, 0x0393, 0x03C0, 0x03A3, 0x03C3, 0x00B5, 0x03C4,
     0x03A6, 0x0398, 0x03A9, 0x03B4, 0x221E, 0x03C6, 0x03B5, 0x2229,
     0x2261, 0x00B1, 0x2265, 0x2264, 0x2320, 0x2321, 0x00F7, 0x2248,
     0x00B0, 0x2219, 0x00B7, 0x221A, 0x207F, 0x00B2, 0x25A0, 0x00A0,
    }}},
    // ESC t 2: CP850
    {2, {{
     0x00C7, 0x00FC, 0x00E9, 0x00E2, 0x00E4, 0x00E0, 0x00E5, 0x00E7,
     0x00EA, 0x00EB, 0x00E8, 0x00EF, 0x00EE, 0x00EC, 0x00C4, 0x00C5,
     0x00C9, 0x00E6, 0x00C6, 0x00F4, 0x00F6, 0x00F2, 0x00FB, 0x00F9,
     0x00FF, 0x00D6, 0x00DC, 0x00F8, 0x00A3, 0x00D8, 0x00D7, 0x0192,
     0x00E1, 0x00ED, 0x00F3, 0x00FA, 0x00F1, 0x00D1, 0x00AA, 0x00BA,
     0x00BF, 0x00AE, 0x00AC, 0x00BD, 0x00BC, 0x00A1, 0x00AB, 0x00BB,
     0x2591, 0x2592, 0x2593, 0x2502, 0x2524, 0x00C1, 0x00C2, 0x00C0,
     0x00A9, 0x2563, 0x2551, 0x2557, 0x255D, 0x00A2, 0x00A5, 0x2510,
     0x2514, 0x2534, 0x252C, 0x251C, 0x2500, 0x253C, 0x00E3, 0x00C3,
     0x255A, 0x2554, 0x2569, 0x2566, 0x2560, 0x2550, 0x256C, 0x00A4,
     0x00F0, 0x00D0, 0x00CA, 0x00CB, 0x00C8, 0x0131, 0x00CD, 0x00CE,
     0x00CF, 0x2518, 0x250C, 0x2588, 0x2584, 0x00A6, 0x00CC, 0x2580,
     0x00D3, 0x00DF, 0x00D4, 0x00D2, 0x00F5, 0x00D5, 0x00B5, 0x00FE,
     0x00DE, 0x00DA, 0x00DB, 0x00D9, 0x00FD, 0x00DD, 0x00AF, 0x00B4,
     0x00AD, 0x00B1, 0x2017, 0x00BE, 0x00B6, 0x00A7, 0x00F7, 0x00B8,
     0x00B0, 0x00A8, 0x00B7, 0x00B9, 0x00B3, 0x00B2, 0x25A0, 0x00A0,
    }}},
    // ESC t 3: CP860
    {3, {{
     0x00C7, 0x00FC, 0x00E9, 0x00E2, 0x00E3, 0x00E0, 0x00C1, 0x00E7,
     0x00EA, 0x00CA, 0x00E8, 0x00CD, 0x00D4, 0x00EC, 0x00C3, 0x00C2,
     0x00C9, 0x00C0, 0x00C8, 0x00F4, 0x00F5, 0x00F2, 0x00DA, 0x00F9,
     0x00CC, 0x00D5, 0x00DC, 0x00A2, 0x00A3, 0x00D9, 0x20A7, 0x00D3,
     0x00E1, 0x00ED, 0x00F3, 0x00FA, 0x00F1, 0x00D1, 0x00AA, 0x00BA,
     0x00BF, 0x00D2, 0x00AC, 0x00BD, 0x00BC, 0x00A1, 0x00AB, 0x00BB,
     0x2591, 0x2592, 0x2593, 0x2502, 0x2524, 0x2561, 0x2562, 0x2556,
     0x2555, 0x2563, 0x2551, 0x2557, 0x255D, 0x255C, 0x255B, 0x2510,
     0x2514, 0x2534, 0x252C, 0x251C, 0x2500, 0x253C, 0x255E, 0x255F,
     0x255A, 0x2554, 0x2569, 0x2566, 0x2560, 0x2550, 0x256C, 0x2567,
     0x2568, 0x2564, 0x2565, 0x2559, 0x2558, 0x2552, 0x2553, 0x256B,
     0x256A, 0x2518, 0x250C, 0x2588, 0x2584, 0x258C, 0x2590, 0x2580,
     0x03B1, 0x00DF, 0x0393, 0x03C0, 0x03A3, 0x03C3, 0x00B5, 0x03C4,
     0x03A6, 0x0398, 0x03A9, 0x03B4, 0x221E, 0x03C6, 0x03B5, 0x2229,
     0x2261, 0x00B1, 0x2265, 0x2264, 0x2320, 0x2321, 0x00F7, 0x2248,
     0x00B0, 0x2219, 0x00B7, 0x221A, 0x207F, 0x00B2, 0x25A0, 0x00A0,
    }}},
    // ESC t 4: CP863
    {4, {{
     0x00C7, 0x00FC, 0x00E9, 0x00E2, 0x00C2, 0x00E0, 0x00B6, 0x00E7,
     0x00EA, 0x00EB, 0x00E8, 0x00EF, 0x00EE, 0x2017, 0x00C0, 0x00A7,
     0x00C9, 0x00C8, 0x00CA, 0x00F4, 0x00CB, 0x00CF, 0x00FB, 0x00F9,
     0x00A4, 0x00D4, 0x00DC, 0x00A2, 0x00A3, 0x00D9, 0x00DB, 0x0192,
     0x00A6, 0x00B4, 0x00F3, 0x00FA, 0x00A8, 0x00B8, 0x00B3, 0x00AF,
     0x00CE, 0x2310, 0x00AC, 0x00BD, 0x00BC, 0x00BE, 0x00AB, 0x00BB,
     0x2591, 0x2592, 0x2593, 0x2502, 0x2524, 0x2561, 0x2562, 0x2556,
     0x2555, 0x2563, 0x2551, 0x2557, 0x255D, 0x255C, 0x255B, 0x2510,
     0x2514, 0x2534, 0x252C, 0x251C, 0x2500, 0x253C, 0x255E, 0x255F,
     0x255A, 0x2554, 0x2569, 0x2566, 0x2560, 0x2550, 0x256C, 0x2567,
     0x2568, 0x2564, 0x2565, 0x2559, 0x2558, 0x2552, 0x2553, 0x256B,
     0x256A, 0x2518, 0x250C, 0x2588, 0x2584, 0x258C, 0x2590, 0x2580,
     0x03B1, 0x00DF, 0x0393, 0x03C0, 0x03A3, 0x03C3, 0x00B5, 0x03C4,
     0x03A6, 0x0398, 0x03A9, 0x03B4, 0x221E, 0x03C6, 0x03B5, 0x2229,
     0x2261, 0x00B1, 0x2265, 0x2264, 0x2320, 0x2321, 0x00F7, 0x2248,
     0x00B0, 0x2219, 0x00B7, 0x221A, 0x207F, 0x00B2, 0x25A0, 0x00A0,
    }}},
    // ESC t 5: CP865
    {5, {{
     0x00C7, 0x00FC, 0x00E9, 0x00E2, 0x00E4, 0x00E0, 0x00E5, 0x00E7,
     0x00EA, 0x00EB, 0x00E8, 0x00EF, 0x00EE, 0x00EC, 0x00C4, 0x00C5,
     0x00C9, 0x00E6, 0x00C6, 0x00F4, 0x00F6, 0x00F2, 0x00FB, 0x00F9,
     0x00FF, 0x00D6, 0x00DC, 0x00F8, 0x00A3, 0x00D8, 0x20A7, 0x0192,
     0x00E1, 0x00ED, 0x00F3, 0x00FA, 0x00F1, 0x00D1, 0x00AA, 0x00BA,
     0x00BF, 0x2310, 0x00AC, 0x00BD, 0x00BC, 0x00A1, 0x00AB, 0x00A4,
     0x2591, 0x2592, 0x2593, 0x2502, 0x2524, 0x2561, 0x2562, 0x2556,
     0x2555, 0x2563, 0x2551, 0x2557, 0x255D, 0x255C, 0x255B, 0x2510,
     0x2514, 0x2534, 0x252C, 0x251C, 0x2500, 0x253C, 0x255E, 0x255F,
     0x255A, 0x2554, 0x2569, 0x2566, 0x2560, 0x2550, 0x256C, 0x2567,
     0x2568, 0x2564, 0x2565, 0x2559, 0x2558, 0x2552, 0x2553, 0x256B,
     0x256A, 0x2518, 0x250C, 0x2588, 0x2584, 0x258C, 0x2590, 0x2580,
     0x03B1, 0x00DF, 0x0393, 0x03C0, 0x03A3, 0x03C3, 0x00B5, 0x03C4,
     0x03A6, 0x0398, 0x03A9, 0x03B4, 0x221E, 0x03C6, 0x03B5, 0x2229,
     0x2261, 0x00B1, 0x2265, 0x2264, 0x2320, 0x2321, 0x00F7, 0x2248,
     0x00B0, 0x2219, 0x00B7, 0x221A, 0x207F, 0x00B2, 0x25A0, 0x00A0,
    }}},
    // ESC t 16: CP1252
    {16, {{
     0x20AC, 0xFFFD, 0x201A, 0x0192, 0x201E, 0x2026, 0x2020, 0x2021,
     0x02C6, 0x2030, 0x0160, 0x2039, 0x0152, 0xFFFD, 0x017D, 0xFFFD,
     0xFFFD, 0x2018, 0x2019, 0x201C, 0x201D, 0x2022, 0x2013, 0x2014,
     0x02DC, 0x2122, 0x0161, 0x203A, 0x0153, 0xFFFD, 0x017E, 0x0178,
     0x00A0, 0x00A1, 0x00A2, 0x00A3, 0x00A4, 0x00A5, 0x00A6, 0x00A7,
     0x00A8, 0x00A9, 0x00AA, 0x00AB, 0x00AC, 0x00AD, 0x00AE, 0x00AF,
     0x00B0, 0x00B1, 0x00B2, 0x00B3, 0x00B4, 0x00B5, 0x00B6, 0x00B7,
     0x00B8, 0x00B9, 0x00BA, 0x00BB, 0x00BC, 0x00BD, 0x00BE, 0x00BF,
     0x00C0, 0x00C1, 0x00C2, 0x00C3, 0x00C4, 0x00C5, 0x00C6, 0x00C7,
     0x00C8, 0x00C9, 0x00CA, 0x00CB, 0x00CC, 0x00CD, 0x00CE, 0x00CF,
     0x00D0, 0x00D1, 0x00D2, 0x00D3, 0x00D4, 0x00D5, 0x00D6, 0x00D7,
     0x00D8, 0x00D9, 0x00DA, 0x00DB, 0x00DC, 0x00DD, 0x00DE, 0x00DF,
     0x00E0, 0x00E1, 0x00E2, 0x00E3, 0x00E4, 0x00E5, 0x00E6, 0x00E7,
     0x00E8, 0x00E9, 0x00EA, 0x00EB, 0x00EC, 0x00ED, 0x00EE, 0x00EF,
     0x00F0, 0x00F1, 0x00F2, 0x00F3, 0x00F4, 0x00F5, 0x00F6, 0x00F7,
     0x00F8, 0x00F9, 0x00FA, 0x00FB, 0x00FC, 0x00FD, 0x00FE, 0x00FF,
    }}},
    // ESC t 17: CP866
    {17, {{
     0x0410, 0x0411, 0x0412, 0x0413, 0x0414, 0x0415, 0x0416, 0x0417,
     0x0418, 0x0419, 0x041A, 0x041B, 0x041C, 0x041D, 0x041E, 0x041F,
     0x0420, 0x0421, 0x0422, 0x0423, 0x0424, 0x0425, 0x0426, 0x0427,
     0x0428, 0x0429, 0x042A, 0x042B, 0x042C, 0x042D, 0x042E, 0x042F,
     0x0430, 0x0431, 0x0432, 0x0433, 0x0434, 0x0435, 0x0436, 0x0437,
     0x0438, 0x0439, 0x043A, 0x043B, 0x043C, 0x043D, 0x043E, 0x043F,
     0x2591, 0x2592, 0x2593, 0x2502, 0x2524, 0x2561, 0x2562, 0x2556,
     0x2555, 0x2563, 0x2551, 0x2557, 0x255D, 0x255C, 0x255B, 0x2510,
     0x2514, 0x2534, 0x252C, 0x251C, 0x2500, 0x253C, 0x255E, 0x255F,
     0x255A, 0x2554, 0x2569, 0x2566, 0x2560, 0x2550, 0x256C, 0x2567,
     0x2568, 0x2564, 0x2565, 0x2559, 0x2558, 0x2552, 0x2553, 0x256B,
     0x256A, 0x2518, 0x250C, 0x2588, 0x2584, 0x258C, 0x2590, 0x2580,
     0x0440, 0x0441, 0x0442, 0x0443, 0x0444, 0x0445, 0x0446, 0x0447,
     0x0448, 0x0449, 0x044A, 0x044B, 0x044C, 0x044D, 0x044E, 0x044F,
     0x0401, 0x0451, 0x0404, 0x0454, 0x0407, 0x0457, 0x040E, 0x045E,
     0x00B0, 0x2219, 0x00B7, 0x221A, 0x2116, 0x00A4, 0x25A0, 0x00A0,
    }}},
    // ESC t 18: CP852
    {18, {{
     0x00C7, 0x00FC, 0x00E9, 0x00E2, 0x00E4, 0x016F, 0x0107, 0x00E7,
     0x0142, 0x00EB, 0x0150, 0x0151, 0x00EE, 0x0179, 0x00C4, 0x0106,
     0x00C9, 0x0139, 0x013A, 0x00F4, 0x00F6, 0x013D, 0x013E, 0x015A,
     0x015B, 0x00D6, 0x00DC, 0x0164, 0x0165, 0x0141, 0x00D7, 0x010D,
     0x00E1, 0x00ED, 0x00F3, 0x00FA, 0x0104, 0x0105, 0x017D, 0x017E,
     0x0118, 0x0119, 0x00AC, 0x017A, 0x010C, 0x015F, 0x00AB, 0x00BB,
     0x2591, 0x2592, 0x2593, 0x2502, 0x2524, 0x00C1, 0x00C2, 0x011A,
     0x015E, 0x2563, 0x2551, 0x2557, 0x255D, 0x017B, 0x017C, 0x2510,
     0x2514, 0x2534, 0x252C, 0x251C, 0x2500, 0x253C, 0x0102, 0x0103,
     0x255A, 0x2554, 0x2569, 0x2566, 0x2560, 0x2550, 0x256C, 0x00A4,
     0x0111, 0x0110, 0x010E, 0x00CB, 0x010F, 0x0147, 0x00CD, 0x00CE,
     0x011B, 0x2518, 0x250C, 0x2588, 0x2584, 0x0162, 0x016E, 0x2580,
     0x00D3, 0x00DF, 0x00D4, 0x0143, 0x0144, 0x0148, 0x0160, 0x0161,
     0x0154, 0x00DA, 0x0155, 0x0170, 0x00FD, 0x00DD, 0x0163, 0x00B4,
     0x00AD, 0x02DD, 0x02DB, 0x02C7, 0x02D8, 0x00A7, 0x00F7, 0x00B8,
     0x00B0, 0x00A8, 0x02D9, 0x0171, 0x0158, 0x0159, 0x25A0, 0x00A0,
    }}},
    // ESC t 19: CP858
    {19, {{
     0x00C7, 0x00FC, 0x00E9, 0x00E2, 0x00E4, 0x00E0, 0x00E5, 0x00E7,
     0x00EA, 0x00EB, 0x00E8, 0x00EF, 0x00EE, 0x00EC, 0x00C4, 0x00C5,
     0x00C9, 0x00E6, 0x00C6, 0x00F4, 0x00F6, 0x00F2, 0x00FB, 0x00F9,
     0x00FF, 0x00D6, 0x00DC, 0x00F8, 0x00A3, 0x00D8, 0x00D7, 0x0192,
     0x00E1, 0x00ED, 0x00F3, 0x00FA, 0x00F1, 0x00D1, 0x00AA, 0x00BA,
     0x00BF, 0x00AE, 0x00AC, 0x00BD, 0x00BC, 0x00A1, 0x00AB, 0x00BB,
     0x2591, 0x2592, 0x2593, 0x2502, 0x2524, 0x00C1, 0x00C2, 0x00C0,
     0x00A9, 0x2563, 0x2551, 0x2557, 0x255D, 0x00A2, 0x00A5, 0x2510,
     0x2514, 0x2534, 0x252C, 0x251C, 0x2500, 0x253C, 0x00E3, 0x00C3,
     0x255A, 0x2554, 0x2569, 0x2566, 0x2560, 0x2550, 0x256C, 0x00A4,
     0x00F0, 0x00D0, 0x00CA, 0x00CB, 0x00C8, 0x20AC, 0x00CD, 0x00CE,
     0x00CF, 0x2518, 0x250C, 0x2588, 0x2584, 0x00A6, 0x00CC, 0x2580,
     0x00D3, 0x00DF, 0x00D4, 0x00D2, 0x00F5, 0x00D5, 0x00B5, 0x00FE,
     0x00DE, 0x00DA, 0x00DB, 0x00D9, 0x00FD, 0x00DD, 0x00AF, 0x00B4,
     0x00AD, 0x00B1, 0x2017, 0x00BE, 0x00B6, 0x00A7, 0x00F7, 0x00B8,
     0x00B0, 0x00A8, 0x00B7, 0x00B9, 0x00B3, 0x00B2, 0x25A0, 0x00A0,
    }}},
};
// clang-format on

// What the bytes of a command collected so far say about it.
struct Step {
  enum Kind {
    kMore,       // more parameter bytes needed
    kDone,       // complete
    kPayload,    // complete once `payload` more data bytes are skipped
    kUntil,      // data up to and including the byte `payload` follows
    kBlocks,     // `payload` blocks follow, each with a header (ESC &, FS q)
    kUnknown,    // not a command of the language (or one vigil does not read)
    kNotCommand  // DLE followed by a byte that is not a real-time command: DLE is ignored
  } kind;
  uint64_t payload = 0;
};

Step more() { return {Step::kMore}; }
Step done() { return {Step::kDone}; }
Step payload(uint64_t n) { return {Step::kPayload, n}; }
Step unknown() { return {Step::kUnknown}; }
// `params` parameter bytes after the two bytes of the command.
Step fixed(size_t n, size_t params) { return n < 2 + params ? more() : done(); }
uint64_t le16(const uint8_t* p) { return p[0] | (uint64_t{p[1]} << 8); }

bool in(uint8_t f, std::string_view set) { return set.find(static_cast<char>(f)) != set.npos; }

Step classify_esc(const uint8_t* c, size_t n) {
  const uint8_t f = c[1];
  if (f == kFf || in(f, "2<@LSimv")) return done();
  if (f == ' ' || in(f, "!%-3=?EGJKMRTUVadertu{")) return fixed(n, 1);
  if (in(f, "$\\fBc")) return fixed(n, 2);  // ESC c x n: x is '0', '1', '3', '4' or '5'
  if (f == 'p') return fixed(n, 3);
  if (f == 'W') return fixed(n, 8);
  if (f == 'D') return {Step::kUntil, 0};  // tab positions, at most 32, NUL-terminated
  if (f == '*') {                          // ESC * m nL nH: column image, nL+nH*256 columns
    if (n < 5) return more();
    const uint8_t m = c[2];
    if (m != 0 && m != 1 && m != 32 && m != 33) return unknown();
    return payload(le16(c + 3) * (m >= 32 ? 3 : 1));
  }
  if (f == '(') return n < 5 ? more() : payload(le16(c + 3));  // ESC ( fn pL pH data
  if (f == '&') {  // ESC & y c1 c2, then per character: x, then y*x bytes
    if (n < 5) return more();
    if (c[4] < c[3]) return unknown();
    return {Step::kBlocks, uint64_t{c[4]} - c[3] + 1};
  }
  return unknown();
}

Step classify_gs(const uint8_t* c, size_t n) {
  const uint8_t f = c[1];
  if (in(f, ":c")) return done();
  if (in(f, "!/BEHITabfhjrwZ")) return fixed(n, 1);
  if (in(f, "$LPW\\")) return fixed(n, 2);
  if (f == '^') return fixed(n, 3);
  if (f == 'V') {  // GS V m [n]: cut, function A (m 0, 1, 48, 49) or B/C/D (m 65.., n)
    if (n < 3) return more();
    const uint8_t m = c[2];
    if (m == 0 || m == 1 || m == 48 || m == 49) return done();
    if (m == 65 || m == 66 || m == 97 || m == 98 || m == 103 || m == 104) return fixed(n, 2);
    return unknown();
  }
  if (f == '(') return n < 5 ? more() : payload(le16(c + 3));  // GS ( fn pL pH data
  if (f == '8') {  // GS 8 L p1 p2 p3 p4 data: graphics with a 32-bit length
    if (n < 3) return more();
    if (c[2] != 'L') return unknown();
    if (n < 7) return more();
    return payload(le16(c + 3) | (le16(c + 5) << 16));
  }
  if (f == '*') return n < 4 ? more() : payload(uint64_t{c[2]} * c[3] * 8);
  if (f == 'v' || f == 'Q') {  // GS v 0 m xL xH yL yH / GS Q 0 …: raster image, x bytes by y dots
    if (n < 3) return more();
    if (c[2] != '0') return unknown();
    if (n < 8) return more();
    return payload(le16(c + 4) * le16(c + 6));
  }
  if (f == 'k') {  // GS k m: barcode, NUL-terminated (m 0-6) or with a length byte (m 65-79)
    if (n < 3) return more();
    const uint8_t m = c[2];
    if (m <= 6) return {Step::kUntil, 0};
    if (m < 65 || m > 79) return unknown();
    return n < 4 ? more() : payload(c[3]);
  }
  if (f == 'g') {  // GS g 0 m nL nH, GS g 2 m nL nH: maintenance counters
    if (n < 3) return more();
    return c[2] == '0' || c[2] == '2' ? fixed(n, 4) : unknown();
  }
  if (f == 'z') return fixed(n, 3);
  if (f == 'C') {  // GS C 0 n m, GS C 1 aL aH bL bH n r, GS C 2 nL nH: serial number counter
    if (n < 3) return more();
    if (c[2] == '0' || c[2] == '2') return fixed(n, 3);
    return c[2] == '1' ? fixed(n, 7) : unknown();
  }
  return unknown();
}

Step classify_fs(const uint8_t* c, size_t n) {
  const uint8_t f = c[1];
  if (in(f, "&.")) return done();
  if (in(f, "!-CW")) return fixed(n, 1);
  if (in(f, "Sp")) return fixed(n, 2);
  if (f == '2') return n < 4 ? more() : payload(72);  // FS 2 c1 c2: one 24x24 Kanji glyph
  if (f == '(') return n < 5 ? more() : payload(le16(c + 3));
  if (f == 'q') return n < 3 ? more() : Step{Step::kBlocks, c[2]};  // FS q n: NV bit images
  if (f == 'g') {  // FS g 1 m a1-a4 nL nH data (write NV user memory), FS g 2 … (read)
    if (n < 3) return more();
    if (c[2] != '1' && c[2] != '2') return unknown();
    if (n < 10) return more();
    return c[2] == '1' ? payload(le16(c + 8)) : done();
  }
  return unknown();
}

Step classify_dle(const uint8_t* c, size_t n) {
  const uint8_t f = c[1];
  if (f == kEot) {  // DLE EOT n [a]: real-time status request
    if (n < 3) return more();
    return c[2] == 7 || c[2] == 8 ? fixed(n, 2) : done();
  }
  if (f == kEnq) return fixed(n, 1);
  if (f == kDc4) {  // DLE DC4 fn …: 1 = drawer kick (m t), 2 power off, 3 clear buffer
    if (n < 3) return more();
    switch (c[2]) {
      case 1:
      case 2:
      case 3:
        return fixed(n, 3);
      case 7:
        return fixed(n, 2);
      case 8:
        return fixed(n, 8);
      default:
        return unknown();
    }
  }
  return {Step::kNotCommand};
}

// StarPRNT / Star Line Mode after ESC GS: the third byte names the command.
Step classify_star_gs(const uint8_t* c, size_t n) {
  if (n < 3) return more();
  const uint8_t g = c[2];
  if (g == 't' || g == 'a') return fixed(n, 2);  // code page, alignment
  if (g == 'A' || g == 'R') return fixed(n, 3);  // absolute / relative position n1 n2
  if (g == 'P') {                                // page mode: 0 enter, 1 leave
    if (n < 4) return more();
    return c[3] == '0' || c[3] == '1' ? done() : unknown();
  }
  // ESC GS S m xL xH yL yH n data: raster image, x bytes by y dots.
  if (g == 'S') return n < 9 ? more() : payload(le16(c + 4) * le16(c + 6));
  if (g == 'y' || g == 'x') {  // QR code (y) and PDF417 (x): settings, data, print, info
    if (n < 4) return more();
    const uint8_t h = c[3];
    if (h == 'P' || h == 'I') return done();
    if (n < 5) return more();
    if (h == 'S') {
      if (g == 'x' && c[4] == '0') return fixed(n, 6);  // ESC GS x S 0 n p1 p2: rows, columns
      return in(c[4], g == 'y' ? "012" : "123") ? fixed(n, 4) : unknown();
    }
    if (h == 'D') {
      if (g == 'x') return n < 6 ? more() : payload(le16(c + 4));  // ESC GS x D nL nH data
      if (c[4] != '1') return unknown();
      return n < 8 ? more() : payload(le16(c + 6));  // ESC GS y D 1 m nL nH data
    }
  }
  return unknown();
}

// StarPRNT / Star Line Mode: every command starts with ESC.
Step classify_star(const uint8_t* c, size_t n) {
  if (n < 2) return more();
  const uint8_t f = c[1];
  if (f == kGs) return classify_star_gs(c, n);
  if (f == kRs) {  // ESC RS F n font, i n rotation, a n automatic status
    if (n < 3) return more();
    return in(c[2], "Fia") ? fixed(n, 2) : unknown();
  }
  // Styles (bold, inversion, pitch, double height), line spacing presets, initialise.
  if (f == kSo || f == kDc4 || in(f, "@EF45MP:g012O67")) return done();
  // Spacing, charset, slash zero, width, height, underline, upperline, feeds and line
  // spacing, margins, cut (d).
  if (in(f, " R/%Wh-_azJIjyA3NlQd")) return fixed(n, 1);
  if (f == 'i' || f == kBel) return fixed(n, 2);  // expansion n1 n2; drawer pulse widths
  if (f == 'C') {  // ESC C n: page length in lines; ESC C NUL n: in inches
    if (n < 3) return more();
    return c[2] == 0 ? fixed(n, 2) : done();
  }
  // Tab positions, NUL-terminated.
  if (f == 'B' || f == 'D') return {Step::kUntil, 0};
  // ESC b n1 n2 n3 n4 data RS: a barcode.
  if (f == 'b') return n < 6 ? more() : Step{Step::kUntil, kRs};
  if (f == 'K' || f == 'L') return n < 4 ? more() : payload(le16(c + 2));  // 8-dot images
  if (f == 'X') return n < 4 ? more() : payload(le16(c + 2) * 3);          // 24-dot image
  if (f == 'k') return n < 4 ? more() : payload(le16(c + 2) * 24);  // 24 rows of n1+n2*256 bytes
  if (f == kAck) return n < 3 ? more() : c[2] == kSoh ? done() : unknown();
  if (f == '?') {  // ESC ? LF NUL: reset the printer
    if (n < 4) return more();
    return c[2] == kLf && c[3] == 0 ? done() : unknown();
  }
  return unknown();
}

// Star's numbers of the code pages vigil has a table for (ESC GS t n; 0 is Star's own
// "standard" table) -> the table's ESC/POS number.
constexpr std::pair<uint8_t, int> kStarCodePages[] = {
    {1, 0} /* CP437 */, {4, 19} /* CP858 */, {5, 18} /* CP852 */,  {6, 3} /* CP860 */,
    {8, 4} /* CP863 */, {9, 5} /* CP865 */,  {10, 17} /* CP866 */, {32, 16} /* WPC1252 */,
};

// The ESC/POS number of Star's code page `n`, -1 for a page vigil has no table for.
int star_code_page(uint8_t n) {
  for (const auto& [star, escpos] : kStarCodePages)
    if (star == n) return escpos;
  return -1;
}

Step classify(const uint8_t* c, size_t n) {
  if (n < 2) return more();
  switch (c[0]) {
    case kEsc:
      return classify_esc(c, n);
    case kGs:
      return classify_gs(c, n);
    case kFs:
      return classify_fs(c, n);
    default:
      return classify_dle(c, n);
  }
}

const char* prefix_name(uint8_t p) {
  switch (p) {
    case kEsc:
      return "ESC";
    case kGs:
      return "GS";
    case kFs:
      return "FS";
    default:
      return "DLE";
  }
}

void append_utf8(std::string& out, char32_t cp) {
  if (cp < 0x80) {
    out.push_back(static_cast<char>(cp));
  } else if (cp < 0x800) {
    out.push_back(static_cast<char>(0xC0 | (cp >> 6)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else {
    out.push_back(static_cast<char>(0xE0 | (cp >> 12)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  }
}

// `raw` (bytes of code page `n`) as UTF-8; a page vigil has no table for reads as U+FFFD above
// 0x7F rather than as the wrong letters.
std::string decode(std::string_view raw, int n) {
  const CodePage* page = nullptr;
  for (const CodePage& p : kCodePages)
    if (p.n == n) page = &p;
  std::string out;
  out.reserve(raw.size() * 2);
  for (const char ch : raw) {
    const auto b = static_cast<uint8_t>(ch);
    append_utf8(out, b < 0x80 ? b : page ? page->upper[b - 0x80] : 0xFFFD);
  }
  return out;
}

bool search(const std::string& text, const std::regex& re, std::smatch* m = nullptr) {
  try {
    std::smatch local;
    return std::regex_search(text, m ? *m : local, re);
  } catch (const std::regex_error&) {
    return false;  // the pattern gave up on this line (error_complexity / error_stack)
  }
}

}  // namespace

std::optional<PrinterLanguage> printer_language_from(std::string_view name) {
  if (name == "esc-pos") return PrinterLanguage::kEscPos;
  if (name == "star-prnt" || name == "star-line") return PrinterLanguage::kStarPrnt;
  return std::nullopt;
}

const char* printer_language_name(PrinterLanguage language) {
  return language == PrinterLanguage::kStarPrnt ? "StarPRNT" : "ESC/POS";
}

ReceiptPatternStrings default_receipt_patterns() {
  return {
      .total = R"(\bTOTAL\s*:?\s+([0-9][0-9.,]*))",
      .refund = R"(\b(REFUND|REFUNDED|CREDIT NOTE|RETOUR|STORNO|DEVOLUCION)\b)",
      .void_ = R"(\b(VOID|VOIDED|CANCELL?ED|ANNULATION)\b)",
      .no_sale = R"(\bNO\s*SALE\b)",
      .qr = R"(\b(QR|QRIS|QRPH|PIX|UPI|PROMPTPAY|PAYNOW|DUITNOW|ALIPAY|WECHAT\s*PAY|TWINT)\b)",
      .card = R"(\b(CARD|VISA|MASTERCARD|MAESTRO|AMEX|AMERICAN EXPRESS|DEBIT|CREDIT|)"
              R"(CONTACTLESS|GIROCARD)\b)",
      .cash = R"(\b(CASH|BARGELD|BAR|EFECTIVO|CONTANTI|ESPECES)\b)",
  };
}

CompiledPatterns compile_receipt_patterns(const ReceiptPatternStrings& strings) {
  const ReceiptPatternStrings defaults = default_receipt_patterns();
  CompiledPatterns out;
  ReceiptPatterns p;
  const std::pair<const std::string*, std::regex*> all[] = {
      {strings.total.empty() ? &defaults.total : &strings.total, &p.total},
      {strings.refund.empty() ? &defaults.refund : &strings.refund, &p.refund},
      {strings.void_.empty() ? &defaults.void_ : &strings.void_, &p.void_},
      {strings.no_sale.empty() ? &defaults.no_sale : &strings.no_sale, &p.no_sale},
      {strings.qr.empty() ? &defaults.qr : &strings.qr, &p.qr},
      {strings.card.empty() ? &defaults.card : &strings.card, &p.card},
      {strings.cash.empty() ? &defaults.cash : &strings.cash, &p.cash},
  };
  for (const auto& [text, re] : all) {
    try {
      *re = std::regex(*text, std::regex::ECMAScript | std::regex::icase);
    } catch (const std::regex_error& e) {
      out.error = "pattern '" + *text + "': " + e.what();
      return out;
    }
  }
  out.patterns = std::move(p);
  return out;
}

std::optional<int64_t> parse_amount_minor(std::string_view text) {
  if (text.empty()) return std::nullopt;
  for (const char c : text)
    if (!(c >= '0' && c <= '9') && c != '.' && c != ',') return std::nullopt;
  std::string_view whole = text, fraction;
  const size_t mark = text.find_last_of(".,");
  if (mark != text.npos && (text.size() - mark - 1 == 1 || text.size() - mark - 1 == 2)) {
    whole = text.substr(0, mark);
    fraction = text.substr(mark + 1);
  }
  int64_t major = 0;
  size_t digits = 0;
  for (const char c : whole) {
    if (c == '.' || c == ',') continue;
    if (++digits > 16) return std::nullopt;
    major = major * 10 + (c - '0');
  }
  if (digits == 0 && fraction.empty()) return std::nullopt;
  int64_t minor = 0;
  for (const char c : fraction) {
    if (c == '.' || c == ',') return std::nullopt;
    minor = minor * 10 + (c - '0');
  }
  if (fraction.size() == 1) minor *= 10;
  return major * 100 + minor;
}

void recognise(PrintedReceipt& r, const ReceiptPatterns& p) {
  bool is_void = false, refund = false, no_sale = false, qr = false, card = false, cash = false;
  for (const ReceiptLine& line : r.lines) {
    std::smatch m;
    if (search(line.text, p.total, &m) && m.size() > 1 && m[1].matched) {
      if (const auto total = parse_amount_minor(m[1].str())) r.total_minor = total;
    }
    is_void = is_void || search(line.text, p.void_);
    refund = refund || search(line.text, p.refund);
    no_sale = no_sale || search(line.text, p.no_sale);
    qr = qr || search(line.text, p.qr);
    card = card || search(line.text, p.card);
    cash = cash || search(line.text, p.cash);
  }
  if (r.lines.empty())
    r.kind = r.drawer_kick ? Kind::kDrawerOpen : Kind::kSale;
  else if (is_void)
    r.kind = Kind::kVoid;
  else if (refund)
    r.kind = Kind::kRefund;
  else if (no_sale)
    r.kind = Kind::kNoSale;
  else
    r.kind = Kind::kSale;
  if (qr)
    r.method = Method::kQr;
  else if (card)
    r.method = Method::kCard;
  else if (cash)
    r.method = Method::kCash;
}

ReceiptParser::ReceiptParser(std::string till_id, const ReceiptPatterns& patterns,
                             ReceiptParserLimits limits, PrinterLanguage language)
    : till_id_(std::move(till_id)), patterns_(patterns), limits_(limits), language_(language) {
  receipt_.till_id = till_id_;
  if (language_ == PrinterLanguage::kStarPrnt) code_page_ = star_code_page(0);
}

bool ReceiptParser::feed(std::string_view bytes, WallTime now, std::vector<PrintedReceipt>& out) {
  for (const char c : bytes) {
    if (state_ == State::kFailed) return false;
    byte(static_cast<uint8_t>(c), now, out);
    ++offset_;
  }
  return state_ != State::kFailed;
}

void ReceiptParser::fail(ParseErrorCode code, std::string message) {
  state_ = State::kFailed;
  error_ = ParseError{code, offset_, std::move(message)};
}

void ReceiptParser::skip(uint64_t n) {
  if (n > limits_.max_command_payload) {
    fail(ParseErrorCode::kPayloadTooLarge, "a command announces " + std::to_string(n) +
                                               " bytes of data at byte " + std::to_string(offset_));
    return;
  }
  skip_ = n;
  if (n)
    state_ = State::kSkip;
  else
    after_data();
}

void ReceiptParser::after_data() {
  if (blocks_ != Blocks::kNone && blocks_left_ > 0) {
    state_ = State::kBlockHeader;
    cmd_len_ = 0;
    return;
  }
  blocks_ = Blocks::kNone;
  state_ = State::kText;
}

void ReceiptParser::byte(uint8_t b, WallTime now, std::vector<PrintedReceipt>& out) {
  switch (state_) {
    case State::kFailed:
      return;
    case State::kSkip:
      if (--skip_ == 0) after_data();
      return;
    case State::kSkipUntil:
      if (b == terminator_)
        state_ = State::kText;
      else if (++skip_ > limits_.max_command_payload)
        fail(ParseErrorCode::kPayloadTooLarge,
             "unterminated command data at byte " + std::to_string(offset_));
      return;
    case State::kBlockHeader:
      // Each block's header: ESC & one byte x (columns of the glyph, y bytes each); FS q xL xH
      // yL yH (an image of x*8 by y*8 dots).
      cmd_[cmd_len_++] = b;
      if (blocks_ == Blocks::kUserChars) {
        --blocks_left_;
        skip(uint64_t{block_height_} * b);
      } else if (cmd_len_ == 4) {
        --blocks_left_;
        skip(le16(cmd_.data()) * le16(cmd_.data() + 2) * 8);
      }
      return;
    case State::kCommand:
      command_byte(b, now, out);
      return;
    case State::kText:
      break;
  }
  const bool star = language_ == PrinterLanguage::kStarPrnt;
  // Star's commands all start with ESC; ESC/POS also has GS, FS and DLE ones.
  if (b == kEsc || (!star && (b == kGs || b == kFs || b == kDle))) {
    cmd_[0] = b;
    cmd_len_ = 1;
    state_ = State::kCommand;
    return;
  }
  if (star) {
    switch (b) {
      case kBel:  // external device (drawer) 1 and 2, each at once or after the print
      case kFs:
      case kSub:
      case kEm:
        return drawer_kick(now, out);
      case kCan:  // cancels the print data of the line
        line_.clear();
        line_started_ = false;
        return;
      case kVt:
        return end_line(now);
      default:
        break;  // the rest as ESC/POS: LF, FF, HT, CR and printable bytes
    }
  }
  switch (b) {
    case kLf:
    case kFf:
      end_line(now);
      return;
    case kHt:
      text_byte(' ', now);
      return;
    case kCr:
      return;
    default:
      // Other C0 controls (NUL, CAN, …) and DEL print nothing.
      if (b >= 0x20 && b != 0x7F) text_byte(b, now);
      return;
  }
}

void ReceiptParser::command_byte(uint8_t b, WallTime now, std::vector<PrintedReceipt>& out) {
  cmd_[cmd_len_++] = b;
  const Step step = language_ == PrinterLanguage::kStarPrnt ? classify_star(cmd_.data(), cmd_len_)
                                                            : classify(cmd_.data(), cmd_len_);
  switch (step.kind) {
    case Step::kMore:
      if (cmd_len_ == cmd_.size())  // cannot happen with the table above; bounded regardless
        fail(ParseErrorCode::kUnknownCommand,
             "command too long at byte " + std::to_string(offset_));
      return;
    case Step::kUnknown: {
      static constexpr char kHex[] = "0123456789abcdef";
      std::string what = prefix_name(cmd_[0]);
      for (size_t i = 1; i < cmd_len_; ++i) {
        what += " 0x";
        what += kHex[cmd_[i] >> 4];
        what += kHex[cmd_[i] & 15];
      }
      fail(ParseErrorCode::kUnknownCommand,
           "unknown command " + what + " at byte " + std::to_string(offset_));
      return;
    }
    case Step::kNotCommand:
      state_ = State::kText;
      byte(b, now, out);
      return;
    case Step::kUntil:
      skip_ = 0;
      terminator_ = static_cast<uint8_t>(step.payload);
      state_ = State::kSkipUntil;
      return;
    case Step::kBlocks:
      blocks_ = cmd_[1] == '&' ? Blocks::kUserChars : Blocks::kNvImages;
      block_height_ = cmd_[2];
      blocks_left_ = static_cast<uint32_t>(step.payload);
      after_data();
      return;
    case Step::kPayload:
      skip(step.payload);
      return;
    case Step::kDone:
      break;
  }
  state_ = State::kText;
  if (language_ == PrinterLanguage::kStarPrnt)
    done_star(now, out);
  else
    done_escpos(now, out);
}

// The commands that matter to a receipt; every other one only styles or moves the paper.
void ReceiptParser::done_escpos(WallTime now, std::vector<PrintedReceipt>& out) {
  const uint8_t p = cmd_[0], f = cmd_[1];
  if (p == kEsc && (f == 'i' || f == 'm')) return cut(now, out);
  if (p == kGs && f == 'V') return cut(now, out);
  if (p == kEsc && f == 'p') return drawer_kick(now, out);
  if (p == kDle && f == kDc4 && cmd_[2] == 1) return drawer_kick(now, out);
  if (p == kEsc && (f == 'd' || f == 'J')) return end_line(now);  // print and feed
  if (p == kEsc && f == 't') code_page_ = cmd_[2];
  if (p == kEsc && f == '@') code_page_ = 0;  // initialize: back to the default page
}

void ReceiptParser::done_star(WallTime now, std::vector<PrintedReceipt>& out) {
  const uint8_t f = cmd_[1];
  if (f == 'd') return cut(now, out);
  if (f == 'a' || f == 'J' || f == 'I') return end_line(now);  // feeds print the line
  if (f == kGs && cmd_[2] == 't') code_page_ = star_code_page(cmd_[3]);
  if (f == '@') code_page_ = star_code_page(0);
}

void ReceiptParser::text_byte(uint8_t b, WallTime now) {
  if (!line_started_) {
    line_started_ = true;
    line_at_ = now;
  }
  if (line_.size() < limits_.max_line_bytes) line_.push_back(static_cast<char>(b));
}

void ReceiptParser::end_line(WallTime now) {
  if (!line_started_) return;
  (void)now;
  std::string text =
      mask_card_numbers(clean_text(decode(line_, code_page_), 4 * limits_.max_line_bytes));
  line_.clear();
  line_started_ = false;
  if (text.empty()) return;
  if (receipt_.lines.size() >= limits_.max_lines) {
    fail(ParseErrorCode::kTooManyLines, "more than " + std::to_string(limits_.max_lines) +
                                            " lines without a cut at byte " +
                                            std::to_string(offset_));
    return;
  }
  if (!receipt_started_) {
    receipt_started_ = true;
    receipt_.started = line_at_;
  }
  receipt_.lines.push_back({line_at_, std::move(text)});
}

void ReceiptParser::cut(WallTime now, std::vector<PrintedReceipt>& out) {
  end_line(now);
  emit(now, true, out);
}

void ReceiptParser::drawer_kick(WallTime now, std::vector<PrintedReceipt>& out) {
  end_line(now);
  const bool alone = receipt_.lines.empty();
  if (!receipt_started_) {
    receipt_started_ = true;
    receipt_.started = now;
  }
  receipt_.drawer_kick = true;
  // A kick with nothing printed is a drawer opening of its own (no sale), not the start of a
  // receipt that a later cut would end.
  if (alone) emit(now, false, out);
}

void ReceiptParser::emit(WallTime now, bool by_cut, std::vector<PrintedReceipt>& out) {
  if (state_ != State::kFailed && (!receipt_.lines.empty() || receipt_.drawer_kick)) {
    receipt_.ended = now;
    receipt_.cut = by_cut;
    recognise(receipt_, patterns_);
    out.push_back(std::move(receipt_));
  }
  receipt_ = PrintedReceipt{};
  receipt_.till_id = till_id_;
  receipt_started_ = false;
}

void ReceiptParser::finish(WallTime now, std::vector<PrintedReceipt>& out) {
  if (state_ == State::kFailed) return;
  end_line(now);
  emit(now, false, out);
}

}  // namespace vigil::transactions
